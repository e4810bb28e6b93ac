package html

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The findings table is embedded once as compact JSON:
//
//	{"v":1,
//	 "controls":[[id,title,severity],...],   sorted by ID
//	 "accounts":[...], "regions":[...],      sorted
//	 "types":[...], "fields":[...], "summaries":[...], "texts":[...],
//	 "entities":[[type,...],...],            index 0 is "" or [] in each
//	 "prefixes":[[templated,prefix],...],    ARN prefixes, see splitARN
//	 "suppressions":[[id,justification,expires],...],
//	 "rows":[[status,severity,control,account,region,prefix,suffix,
//	          type,field,summary,reason,suppression,text,entities],...]}
//
// A row's trailing zeros (reason, suppression as index+1, text, entities)
// are left out. Strings are JSON with HTML escaping, so "</script>" in data
// is written as "\u003c/script\u003e" and cannot end the script element.
const dataVersion = 1

// Row positions, mirrored in report.js.
const (
	colStatus = iota
	colSeverity
	colControl
	colAccount
	colRegion
	colPrefix
	colSuffix
	colType
	colField
	colSummary
	colReason
	colSuppression
	colText
	colEntities
	numCols
)

// Placeholders in a templated ARN prefix for the finding's own region and
// account, so that one prefix serves every account and region.
const (
	regionToken  = "{R}"
	accountToken = "{A}"
)

// splitARN splits an ARN into a prefix shared by many resources (partition,
// service, region and account, resource type up to the last "/" or ":") and
// the resource's own suffix. When the ARN's region and account are the
// finding's, they are replaced by placeholders and templated is true.
func splitARN(arn, region, account string) (prefix, suffix string, templated bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", arn, false
	}
	res := parts[5]
	cut := max(strings.LastIndexByte(res, '/'), strings.LastIndexByte(res, ':'))
	suffix = res[cut+1:]
	if !strings.Contains(arn, regionToken) && !strings.Contains(arn, accountToken) {
		if region != "" && parts[3] == region {
			parts[3], templated = regionToken, true
		}
		if account != "" && parts[4] == account {
			parts[4], templated = accountToken, true
		}
	}
	prefix = strings.Join(parts[:5], ":") + ":" + res[:cut+1]
	return prefix, suffix, templated
}

// index numbers distinct values in order of first use.
type index[K comparable] struct {
	ids  map[K]int
	vals []K
}

func newIndex[K comparable](zero ...K) *index[K] {
	ix := &index[K]{ids: map[K]int{}}
	for _, z := range zero {
		ix.id(z)
	}
	return ix
}

func (ix *index[K]) id(k K) int {
	if i, ok := ix.ids[k]; ok {
		return i
	}
	ix.ids[k] = len(ix.vals)
	ix.vals = append(ix.vals, k)
	return len(ix.vals) - 1
}

func sortedIndex(vals []string) *index[string] {
	ix := newIndex[string]()
	for _, v := range vals {
		ix.id(v)
	}
	return ix
}

type prefixKey struct {
	prefix    string
	templated bool
}

type suppressionKey struct{ id, justification, expires string }

// encodeData writes the table's JSON.
func encodeData(a *aggregate, rows []row) []byte {
	controls := a.sortedControls()
	ctlIx := newIndex[string]()
	for _, c := range controls {
		ctlIx.id(c.id)
	}
	acctIx := sortedIndex(sortedKeys(a.accounts))
	regionIx := sortedIndex(sortedKeys(a.regions))
	types, fields, summs, texts, ents := newIndex(""), newIndex(""), newIndex(""), newIndex(""), newIndex("")
	prefixes := newIndex(prefixKey{})
	supps := newIndex[suppressionKey]()

	var body bytes.Buffer
	body.Grow(len(rows) * 64)
	var cols [numCols]int
	for i, r := range rows {
		if i > 0 {
			body.WriteByte(',')
		}
		prefix, suffix, templated := splitARN(r.arn, r.region, r.account)
		cols = [numCols]int{
			colStatus:   int(r.status),
			colSeverity: int(r.severity),
			colControl:  ctlIx.id(r.control),
			colAccount:  acctIx.id(r.account),
			colRegion:   regionIx.id(r.region),
			colPrefix:   prefixes.id(prefixKey{prefix, templated}),
			colType:     types.id(r.rtype),
			colField:    fields.id(r.field),
			colSummary:  summs.id(r.summ),
			colReason:   int(r.reason),
			colText:     texts.id(r.text),
			colEntities: ents.id(r.entities),
		}
		if r.suppressed {
			cols[colSuppression] = supps.id(suppressionKey{r.suppressionID, r.suppressionJustify, r.suppressionExpires}) + 1
		}
		last := numCols - 1
		for last > colReason && cols[last] == 0 {
			last--
		}
		body.WriteByte('[')
		for c := 0; c <= last; c++ {
			if c > 0 {
				body.WriteByte(',')
			}
			if c == colSuffix {
				appendString(&body, suffix)
				continue
			}
			body.WriteString(strconv.Itoa(cols[c]))
		}
		body.WriteByte(']')
	}

	var b bytes.Buffer
	b.Grow(body.Len() + 1<<16)
	b.WriteString(`{"v":`)
	b.WriteString(strconv.Itoa(dataVersion))
	b.WriteString(`,"controls":[`)
	for i, c := range controls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		appendString(&b, c.id)
		b.WriteByte(',')
		appendString(&b, c.title)
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(int(c.severity)))
		b.WriteByte(']')
	}
	b.WriteString(`],"accounts":`)
	appendStrings(&b, acctIx.vals)
	b.WriteString(`,"regions":`)
	appendStrings(&b, regionIx.vals)
	b.WriteString(`,"types":`)
	appendStrings(&b, types.vals)
	b.WriteString(`,"fields":`)
	appendStrings(&b, fields.vals)
	b.WriteString(`,"summaries":`)
	appendStrings(&b, summs.vals)
	b.WriteString(`,"texts":`)
	appendStrings(&b, texts.vals)
	b.WriteString(`,"entities":[`)
	for i, e := range ents.vals {
		if i > 0 {
			b.WriteByte(',')
		}
		var list []string
		if e != "" {
			list = strings.Split(e, "\x00")
		}
		appendStrings(&b, list)
	}
	b.WriteString(`],"prefixes":[`)
	for i, p := range prefixes.vals {
		if i > 0 {
			b.WriteByte(',')
		}
		if p.templated {
			b.WriteString(`[1,`)
		} else {
			b.WriteString(`[0,`)
		}
		appendString(&b, p.prefix)
		b.WriteByte(']')
	}
	b.WriteString(`],"suppressions":[`)
	for i, s := range supps.vals {
		if i > 0 {
			b.WriteByte(',')
		}
		appendStrings(&b, []string{s.id, s.justification, s.expires})
	}
	b.WriteString(`],"rows":[`)
	b.Write(body.Bytes())
	b.WriteString(`]}`)
	return b.Bytes()
}

func appendStrings(b *bytes.Buffer, ss []string) {
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		appendString(b, s)
	}
	b.WriteByte(']')
}

// appendString writes s as a JSON string with HTML escaping (<, >, & and
// U+2028/U+2029 as \u escapes; invalid UTF-8 as U+FFFD).
func appendString(b *bytes.Buffer, s string) {
	plain := utf8.ValidString(s)
	for i := 0; plain && i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&', c >= 0x80:
			plain = false
		}
	}
	if plain {
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	enc, _ := json.Marshal(s) // a string always marshals; HTML escaping is on by default
	b.Write(enc)
}
