// Package benchdata generates the corpora that dpsweep's redaction
// benchmarks run on: clean prose, JSON and logs (text with nothing to find,
// shaped like real Service Catalog descriptions, API payloads and
// application logs), and text dense with planted secrets whose values are
// returned so recall can be measured. Output is deterministic for a seed.
package benchdata

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Kind is a corpus kind.
type Kind string

// Corpus kinds.
const (
	Prose Kind = "prose"
	JSON  Kind = "json"
	Logs  Kind = "logs"
	Dense Kind = "dense"
	Kinds      = "prose,json,logs,dense"
)

// Generate returns about size bytes of the kind, and for Dense the planted
// secret values in order.
func Generate(kind Kind, size int, seed uint64) (string, []string) {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	var b strings.Builder
	b.Grow(size + 1024)
	var planted []string
	for b.Len() < size {
		switch kind {
		case Prose:
			g.prose(&b)
		case JSON:
			g.json(&b)
		case Logs:
			g.log(&b)
		case Dense:
			planted = append(planted, g.secretLine(&b))
		default:
			panic("benchdata: unknown kind " + string(kind))
		}
	}
	return b.String(), planted
}

type gen struct{ r *rand.Rand }

var words = strings.Fields(`the a an of to and in for on with by from this that is are was be as at it
or not can will each product portfolio catalog service application template stack deploy provision
launch constraint role team platform shared network database cluster bucket table queue function
pipeline environment production staging development account region region-wide owner support guide
review approved standard baseline secure encrypted logging monitoring backup retention policy
access least privilege users groups compliance audit quarterly release notes version update patch
create delete modify describe list share accept reject terminate workflow approval request ticket
customer internal external partner vendor distributor author description label tag option value
key name path parameter output resource configuration default optional required enabled disabled
minimum maximum capacity throughput latency availability zone subnet route gateway endpoint private
public certificate domain record traffic load balancer instance container image registry artifact
build test integration unit coverage quality gate runtime memory storage volume snapshot replica
read write reader writer migration schedule window maintenance notification alert dashboard metric`)

func (g *gen) word() string { return words[g.r.IntN(len(words))] }

func (g *gen) sentence(b *strings.Builder) {
	n := 6 + g.r.IntN(14)
	for i := 0; i < n; i++ {
		w := g.word()
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		if g.r.IntN(25) == 0 {
			fmt.Fprintf(b, " %d", g.r.IntN(500))
		}
		if i < n-1 && g.r.IntN(12) == 0 {
			b.WriteByte(',')
		}
	}
	b.WriteString(". ")
}

func (g *gen) prose(b *strings.Builder) {
	for i := 2 + g.r.IntN(5); i > 0; i-- {
		g.sentence(b)
	}
	b.WriteString("\n\n")
}

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func (g *gen) id(prefix string, n int) string {
	var s strings.Builder
	s.WriteString(prefix)
	for i := 0; i < n; i++ {
		s.WriteByte(alnum[g.r.IntN(len(alnum))])
	}
	return s.String()
}

func (g *gen) uuid() string {
	const hex = "0123456789abcdef"
	var s strings.Builder
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			s.WriteByte('-')
			continue
		}
		s.WriteByte(hex[g.r.IntN(16)])
	}
	return s.String()
}

func (g *gen) json(b *strings.Builder) {
	fmt.Fprintf(b, `{"Id":"%s","Name":"%s %s","Owner":"%s team","Description":"`, g.id("prod-", 13), g.word(), g.word(), g.word())
	g.sentence(b)
	fmt.Fprintf(b, `","Type":"CLOUD_FORMATION_TEMPLATE","CreatedTime":"2026-%02d-%02dT%02d:%02d:%02dZ","Version":"%d.%d.%d","Tags":[{"Key":"%s","Value":"%s"}],"Count":%d,"Active":true,"RequestId":"%s"}`+"\n",
		1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), g.r.IntN(5), g.r.IntN(20), g.r.IntN(100),
		g.word(), g.word(), g.r.IntN(100000), g.uuid())
}

func (g *gen) log(b *strings.Builder) {
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	levels := []string{"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"}
	fmt.Fprintf(b, "2026-11-%02dT%02d:%02d:%02d.%03dZ %s [worker-%d] request_id=%s method=%s path=/api/v1/%s/%s status=%d duration_ms=%d.%d bytes=%d msg=\"%s %s %s\"\n",
		1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), g.r.IntN(1000), levels[g.r.IntN(len(levels))], g.r.IntN(16),
		g.uuid(), methods[g.r.IntN(4)], g.word(), g.id("", 8), []int{200, 200, 200, 201, 204, 400, 404, 500}[g.r.IntN(8)],
		g.r.IntN(900), g.r.IntN(10), g.r.IntN(100000), g.word(), g.word(), g.word())
}

func (g *gen) pick(set string, n int) string {
	var s strings.Builder
	for i := 0; i < n; i++ {
		s.WriteByte(set[g.r.IntN(len(set))])
	}
	return s.String()
}

const (
	upper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lower   = "abcdefghijklmnopqrstuvwxyz"
	digits  = "0123456789"
	b32     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64     = upper + lower + digits + "+/"
	anum    = upper + lower + digits
	symbols = "!#%*+-_=@^"
)

// secretLine writes one line holding one planted secret and returns the secret.
func (g *gen) secretLine(b *strings.Builder) string {
	var v, line string
	switch g.r.IntN(12) {
	case 0:
		v = "AKIA" + g.pick(b32, 16)
		line = "aws_access_key_id = " + v
	case 1:
		v = g.pick(b64, 40)
		line = "aws_secret_access_key = " + v
	case 2:
		v = "ghp_" + g.pick(anum, 36)
		line = "export GITHUB_TOKEN=" + v
	case 3:
		v = "xoxb-" + g.pick(digits, 12) + "-" + g.pick(digits, 13) + "-" + g.pick(anum, 24)
		line = `slack: {"token": "` + v + `"}`
	case 4:
		v = "sk_live_" + g.pick(anum, 32)
		line = "STRIPE_API_KEY=" + v
	case 5:
		v = "AIza" + g.pick(anum+"-_", 35)
		line = "maps_api_key: " + v
	case 6:
		v = "npm_" + g.pick(anum, 36)
		line = "//registry.npmjs.org/:_authToken=" + v
	case 7:
		v = "glpat-" + g.pick(anum+"-_", 20)
		line = "GITLAB_TOKEN=" + v
	case 8:
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
		pl := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":"%s","iat":%d}`, g.id("", 10), 1700000000+g.r.IntN(1e8))))
		v = hdr + "." + pl + "." + g.pick(anum+"-_", 43)
		line = "Authorization: Bearer " + v
	case 9:
		v = g.pick(anum, 6) + g.pick(symbols, 2) + g.pick(anum, 6)
		line = `DB_PASSWORD="` + v + `"`
	case 10:
		v = "app:" + g.pick(anum, 14)
		line = "DATABASE_URL=postgres://" + v + "@db-" + g.id("", 6) + ".internal:5432/orders"
	default:
		v = "-----BEGIN RSA PRIVATE KEY-----\n" + g.pick(b64, 64) + "\n" + g.pick(b64, 64) + "\n-----END RSA PRIVATE KEY-----"
		line = v
	}
	fmt.Fprintf(b, "%s %s\n", g.word(), line)
	return v
}
