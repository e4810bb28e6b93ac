package world

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// text returns a field holding clean, or with probability PlantRate,
// planted text: an account number, an e-mail address, a phone number, an
// access key or a password, in words that leave no doubt.
func (f *filler) text(path, clean string) field {
	if f.r.Float64() >= f.o.PlantRate {
		return field{path: path, value: clean}
	}
	r := f.r
	switch r.IntN(5) {
	case 0:
		return field{path: path, value: clean + " (billing account " + randomAccount(f) + ")", planted: []string{"AWS_ACCOUNT_ID"}}
	case 1:
		return field{path: path, value: clean + ", contact " + first[r.IntN(len(first))] + "." + last[r.IntN(len(last))] + "@example-corp.com", planted: []string{"EMAIL_ADDRESS"}}
	case 2:
		return field{path: path, value: clean + ", on call +44 20 7946 0" + fmt.Sprintf("%03d", r.IntN(1000)), planted: []string{"PHONE_NUMBER"}}
	case 3:
		return field{path: path, value: clean + " using key AKIA" + base32(r, 16), planted: []string{"AWS_ACCESS_KEY_ID"}}
	default:
		return field{path: path, value: clean + "; admin password=" + secretValue(r), planted: []string{"SECRET_ASSIGNMENT"}}
	}
}

// sentence is clean prose: words only, no digits.
func (f *filler) sentence() string {
	r := f.r
	n := 6 + r.IntN(10)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = words[r.IntN(len(words))]
	}
	parts[0] = title(parts[0])
	return strings.Join(parts, " ") + "."
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// randomAccount is a 12-digit number for planting, never one of the
// organization's accounts and never shaped like a timestamp.
func randomAccount(f *filler) string {
	for {
		id := fmt.Sprintf("%d%011d", 2+f.r.IntN(7), f.r.Int64N(1e11))
		if !f.w.InOrg(id) && id[:4] != "2019" && id[:2] != "20" {
			return id
		}
	}
}

// foreignAccount is an account ID outside the organization.
func foreignAccount(f *filler) string { return randomAccount(f) }

func accountID(r *rand.Rand) string { return fmt.Sprintf("%d%011d", 1+r.IntN(9), r.Int64N(1e11)) }

func pick(r *rand.Rand, set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

func alnum(r *rand.Rand, n int) string  { return pick(r, "abcdefghijklmnopqrstuvwxyz0123456789", n) }
func hex(r *rand.Rand, n int) string    { return pick(r, "0123456789abcdef", n) }
func base32(r *rand.Rand, n int) string { return pick(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", n) }

func uuid(r *rand.Rand) string {
	return hex(r, 8) + "-" + hex(r, 4) + "-4" + hex(r, 3) + "-a" + hex(r, 3) + "-" + hex(r, 12)
}

// secretValue looks like a real password: mixed case, digits and symbols.
func secretValue(r *rand.Rand) string {
	return pick(r, "ABCDEFGHJKLMNPQRSTUVWXYZ", 3) + pick(r, "abcdefghijkmnopqrstuvwxyz", 4) + pick(r, "23456789", 3) + pick(r, "#%*+=", 1) + pick(r, "abcdefghijkmnopqrstuvwxyz", 3)
}

var words = strings.Fields(`network baseline logging security data lake analytics pipeline web tier cache queue
stream archive backup restore gateway portal billing ledger search catalog inventory payments orders shipping
identity access audit metrics tracing monitoring alerting storage compute cluster container registry build
release deploy staging sandbox research reporting warehouse ingestion export import notification messaging`)

var first = strings.Fields(`alice bruno chen dana elif farah goran hana ivan jun kofi lena malik nora omar priya quinn rosa sami tomas`)
var last = strings.Fields(`adams baker costa diaz evans fischer garcia hansen ito jensen kim lopez moreau novak okafor patel rossi silva tanaka weber`)
