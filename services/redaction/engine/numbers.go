package engine

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Numbers: every maximal run of digit groups ("4111 1111 1111 1111",
// "(202) 555-0143", "10.0.0.1", "123456789012") is parsed once, when its
// first digit is seen, and handed to each numeric detector.

const maxGroups = 16

type group struct{ start, end int }

// digitRun is a run of digit groups joined by single separators.
type digitRun struct {
	start, end int
	g          [maxGroups]group
	sep        [maxGroups]byte // sep[i] joins g[i] and g[i+1]
	n          int
	plus       bool // '+' right before the run
	paren      bool // '(' right before the run
}

func (r *digitRun) digits(i, j int) int { // digits in groups i..j inclusive
	n := 0
	for k := i; k <= j; k++ {
		n += r.g[k].end - r.g[k].start
	}
	return n
}

func (r *digitRun) size(i int) int { return r.g[i].end - r.g[i].start }

// sameSep reports whether groups i..j are joined by the one separator sep.
func (r *digitRun) sameSep(i, j int, sep byte) bool {
	for k := i; k < j; k++ {
		if r.sep[k] != sep {
			return false
		}
	}
	return true
}

// parseRun reads the digit run that starts at i.
func parseRun(t string, i int, r *digitRun) {
	r.start, r.n, r.plus, r.paren = i, 0, at(t, i-1) == '+', at(t, i-1) == '(' // the arrays are overwritten as the run is read
	for {
		gs := i
		i = spanWhile(t, i, len(t), isDigit)
		r.g[r.n] = group{gs, i}
		r.n++
		if r.n == maxGroups {
			break
		}
		b := at(t, i)
		switch {
		case (b == ' ' || b == '-' || b == '.' || b == '/') && isDigit(at(t, i+1)):
			r.sep[r.n-1] = b
			i++
			continue
		case b == ')' && isDigit(at(t, i+1)):
			r.sep[r.n-1] = ')'
			i++
			continue
		case b == ')' && (at(t, i+1) == ' ' || at(t, i+1) == '-') && isDigit(at(t, i+2)):
			r.sep[r.n-1] = ')'
			i += 2
			continue
		}
		break
	}
	r.end = r.g[r.n-1].end
}

// runAlphabet is every byte a digit run can hold.
const runAlphabet = "0123456789 -./()"

// numbers is the one keyword handler for the digits: it parses the run that
// starts here, runs every numeric detector on it, and returns its end.
func (e *Engine) numbers(s *scan, end int) int {
	i := end - 1
	if i < s.digitRunEnd {
		return 0
	}
	parseRun(s.text, i, &s.run)
	s.digitRunEnd = s.run.end
	// Every numeric detector needs seven digits or four groups, except the
	// IBAN, which needs two capital letters before its check digits.
	if r := &s.run; r.n < 4 && r.digits(0, r.n-1) < 7 && !(isUpper(at(s.text, i-1)) && isUpper(at(s.text, i-2))) {
		return s.run.end
	}
	for _, d := range e.numeric {
		s.det = d
		d.find(s, "", i)
	}
	return s.run.end
}

// wordBefore reports whether one of words (lower case) begins a word in the
// window bytes before i on the same line.
func wordBefore(t string, i, window int, words ...string) bool {
	return hasWord(t, lineStart(t, i, window), i, words)
}

// wordAfter reports whether one of words begins a word in the window bytes
// after i on the same line.
func wordAfter(t string, i, window int, words ...string) bool {
	return hasWord(t, i, spanWhile(t, i, window, func(b byte) bool { return b != '\n' }), words)
}

// hasWord reports whether one of words occurs in t[from:to] at the start of
// a word (not preceded by a lower-case letter, so camelCase "sourceAccount"
// counts and "laws" does not).
func hasWord(t string, from, to int, words []string) bool {
	var first [256]bool
	for _, w := range words {
		first[w[0]] = true
		if isLower(w[0]) {
			first[w[0]-'a'+'A'] = true
		}
	}
	for i := from; i < to; i++ {
		if !first[t[i]] {
			continue
		}
		if i > from && isAlpha(t[i-1]) && !(isLower(t[i-1]) && isUpper(t[i])) {
			continue // inside a word; a camelCase hump starts a new one
		}
		for _, w := range words {
			if i+len(w) <= to && hasPrefixFold(t, i, w) {
				return true
			}
		}
	}
	return false
}

// prevLine returns the start and end of the line before the one holding i,
// at most max bytes long.
func prevLine(t string, i, max int) (int, int) {
	ls := lineStart(t, i, len(t))
	if ls == 0 {
		return 0, 0
	}
	return lineStart(t, ls-1, max), ls - 1
}

var accountWords = []string{"account", "acct", "owner", "aws", "principal", "payer", "arn:"}

// exampleAccounts are account IDs from AWS documentation.
var exampleAccounts = map[string]bool{"123456789012": true, "111122223333": true, "444455556666": true, "123456789013": true}

// accountID: 12-digit AWS account numbers with context: in an ARN, after a
// word like "account" or "owner", or embedded in a resource name
// ("prod-123456789012-logs"). A bare 12-digit number is not reported.
func accountID(s *scan, _ string, _ int) {
	t, r := s.text, &s.run
	for k := 0; k < r.n; k++ {
		g := r.g[k]
		if g.end-g.start != 12 || isAlpha(at(t, g.start-1)) && !accountPrefixed(t, g.start) || isAlpha(at(t, g.end)) {
			continue
		}
		// A run that starts inside a word ("c1w4-123456789012") is an
		// identifier joined by a hyphen, not a longer number.
		afterWord := k == 1 && r.sep[0] == '-' && isAlpha(at(t, r.g[0].start-1))
		if k > 0 && r.sep[k-1] != ' ' && !afterWord || k < r.n-1 && r.sep[k] != ' ' {
			// Part of a longer number (a phone, a date, an IP-like string), unless it is an ARN field.
			if at(t, g.start-1) != ':' {
				continue
			}
		}
		v := t[g.start:g.end]
		if g.start >= 24 && uuidLike(t[g.start-24:g.end]) {
			continue // the last group of a UUID
		}
		if at(t, g.end) == '-' && wordAfter(t, g.end, 64, "apps.googleusercontent.com") {
			continue // a Google OAuth client ID
		}
		pls, ple := prevLine(t, g.start, 160)
		strong := inARN(t, g.start) || accountPrefixed(t, g.start) || wordBefore(t, g.start, 48, accountWords...) ||
			wordAfter(t, g.end, 24, "account", "acct", "eni-") || hasWord(t, pls, ple, accountWords) && csvCell(t, g.start, g.end)
		conf := ConfidenceHigh
		if !strong {
			if !embedded(t, g.start, g.end) || timestampLike(v) || wordBefore(t, g.start, 24, nonAccountWords...) {
				continue
			}
			conf = ConfidenceMedium
		}
		if exampleAccounts[v] {
			conf = ConfidenceLow
		}
		s.add(g.start, g.end, conf)
	}
	// Console format 1234-5678-9012, next to an account word.
	for k := 0; k+2 < r.n; k++ {
		if r.size(k) == 4 && r.size(k+1) == 4 && r.size(k+2) == 4 && r.sep[k] == '-' && r.sep[k+1] == '-' &&
			(k == 0 || r.sep[k-1] == ' ') && (k+3 == r.n || r.sep[k+2] == ' ') &&
			(wordBefore(t, r.g[k].start, 48, accountWords...) || wordAfter(t, r.g[k+2].end, 24, "account")) {
			s.add(r.g[k].start, r.g[k+2].end, ConfidenceHigh)
		}
	}
}

var nonAccountWords = []string{"order", "invoice", "inv-", "ticket", "case", "ref", "txn", "tracking", "sku", "build", "job", "request", "req-", "serial", "isbn", "po-", "ord-"}

// csvCell: the number is a whole cell of a comma- or tab-separated line.
func csvCell(t string, start, end int) bool {
	l, r := at(t, start-1), at(t, end)
	return (l == ',' || l == '\t' || l == '\n' || l == 0) && (r == ',' || r == '\t' || r == '\n' || r == 0)
}

// accountPrefixed: "acct123456789012" or "account123456789012".
func accountPrefixed(t string, i int) bool {
	for _, p := range []string{"acct", "account", "acc"} {
		if hasPrefixFold(t, i-len(p), p) && !isAlpha(at(t, i-len(p)-1)) {
			return true
		}
	}
	return false
}

// inARN: the number is a field of an ARN (arn:partition:service:region:account:...).
func inARN(t string, i int) bool {
	if at(t, i-1) != ':' {
		return false
	}
	from := backWhile(t, i, 160, func(b byte) bool { return !isSpace(b) && b != '"' && b != '\'' })
	return containsFold(t, from, i, "arn:")
}

// embedded: the number is part of a name, joined by - _ / . : to letters or digits.
func embedded(t string, start, end int) bool {
	l, r := at(t, start-1), at(t, end)
	joined := func(b byte) bool { return b == '-' || b == '_' || b == '/' || b == '.' || b == ':' }
	return joined(l) && isAlnum(at(t, start-2)) || joined(r) && isAlpha(at(t, end+1))
}

// timestampLike: YYYYMMDDhhmm.
func timestampLike(v string) bool {
	y, mo, d, h, mi := atoi(v[0:4]), atoi(v[4:6]), atoi(v[6:8]), atoi(v[8:10]), atoi(v[10:12])
	return y >= 1970 && y <= 2099 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59
}

// creditCard: 13–19 digits, grouped or not, with a known issuer prefix and
// length and a valid Luhn check.
func creditCard(s *scan, _ string, _ int) {
	t, r := s.text, &s.run
	if r.plus {
		return
	}
	try := func(i, j int) bool {
		var buf [19]byte
		n := 0
		for k := i; k <= j; k++ {
			n += copy(buf[n:], t[r.g[k].start:r.g[k].end])
		}
		num := string(buf[:n])
		if !cardIssuer(num) || !luhn(num) || strings.Count(num, num[:1]) == len(num) {
			return false
		}
		s.add(r.g[i].start, r.g[j].end, ConfidenceHigh)
		return true
	}
	for i := 0; i < r.n; i++ {
		if i > 0 && r.sep[i-1] != ' ' {
			break // a window may start only after a space
		}
		if isAlnum(at(t, r.g[i].start-1)) && i == 0 {
			return
		}
		if d := r.size(i); d >= 13 && d <= 19 && (i == r.n-1 || r.sep[i] == ' ') && !isAlpha(at(t, r.g[i].end)) {
			if try(i, i) {
				return
			}
		}
		for j := i + 1; j < r.n && j-i < 5; j++ {
			sep := r.sep[i]
			if (sep != ' ' && sep != '-') || !r.sameSep(i, j, sep) {
				break
			}
			d := r.digits(i, j)
			if d > 19 {
				break
			}
			if d < 13 || (j < r.n-1 && r.sep[j] == sep) || isAlpha(at(t, r.g[j].end)) {
				continue
			}
			if sep == '-' && (i > 0 || j < r.n-1) {
				continue // dashed card numbers stand alone
			}
			if groupedLikeCard(r, i, j) && try(i, j) {
				return
			}
		}
	}
}

// groupedLikeCard: 4-4-4-4(-3), 4-4-4-1..4, 4-6-5 or 4-6-4.
func groupedLikeCard(r *digitRun, i, j int) bool {
	if r.size(i) != 4 {
		return false
	}
	if j-i == 2 && r.size(i+1) == 6 && (r.size(j) == 5 || r.size(j) == 4) {
		return true
	}
	for k := i; k < j; k++ {
		if r.size(k) != 4 && !(k == j-1 && j-i == 4 && r.size(k) == 4) {
			return false
		}
	}
	return r.size(j) >= 1 && r.size(j) <= 4
}

// cardIssuer checks the issuer prefix ranges and lengths.
func cardIssuer(n string) bool {
	l := len(n)
	p2, p3, p4, p6 := atoi(n[:2]), atoi(n[:3]), atoi(n[:4]), atoi(n[:6])
	switch {
	case n[0] == '4':
		return l == 13 || l == 16 || l == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return l == 16
	case p2 == 34 || p2 == 37:
		return l == 15
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65, p6 >= 622126 && p6 <= 622925:
		return l >= 16 && l <= 19
	case p4 >= 3528 && p4 <= 3589:
		return l >= 16 && l <= 19
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39:
		return l >= 14 && l <= 19
	case p2 == 62:
		return l >= 16 && l <= 19
	}
	return false
}

// usSSN: ddd-dd-dddd (or spaced, with context), or nine digits after "SSN".
func usSSN(s *scan, _ string, _ int) {
	t, r := s.text, &s.run
	if r.plus || r.paren || isAlnum(at(t, r.start-1)) || isAlnum(at(t, r.end)) {
		return
	}
	context := func() bool { return wordBefore(t, r.start, 32, ssnWords...) }
	if r.n == 3 && r.size(0) == 3 && r.size(1) == 2 && r.size(2) == 4 && r.sep[0] == r.sep[1] && (r.sep[0] == '-' || r.sep[0] == ' ' && context()) {
		if validSSN(atoi(t[r.g[0].start:r.g[0].end]), atoi(t[r.g[1].start:r.g[1].end]), atoi(t[r.g[2].start:r.g[2].end])) {
			s.add(r.start, r.end, ConfidenceHigh)
		}
		return
	}
	if r.n == 1 && r.size(0) == 9 && context() {
		v := t[r.start:r.end]
		if validSSN(atoi(v[:3]), atoi(v[3:5]), atoi(v[5:])) {
			s.add(r.start, r.end, ConfidenceHigh)
		}
	}
}

var ssnWords = []string{"ssn", "social security", "ss#", "ss no", "soc sec", "sozialversicherung"}

var phoneWords = []string{"phone", "tel", "mobile", "cell", "fax", "call", "whatsapp", "sms", "contact", "ph.", "ph:", "mob"}

// phoneRegions are tried, in order, for national numbers that have context.
var phoneRegions = []string{"US", "GB", "DE", "FR", "IN", "AU", "CA", "ES", "IT", "NL", "BR", "JP", "IE", "SE", "CH", "MX", "SG", "ZA"}

// phoneNumber: international numbers after '+', North American numbers in
// their usual formats, and other national numbers next to a word like "phone".
func phoneNumber(s *scan, _ string, _ int) {
	t, r := s.text, &s.run
	if isAlnum(at(t, r.start-2)) && (r.plus || r.paren) || isAlpha(at(t, r.end)) {
		return
	}
	if r.plus {
		// The longest prefix of the run that is a possible number.
		for j := r.n - 1; j >= 0; j-- {
			if r.sep[j] == '/' && j < r.n-1 {
				continue
			}
			d := r.digits(0, j)
			if d < 8 || d > 15 {
				continue
			}
			num, err := phonenumbers.Parse(t[r.start-1:r.g[j].end], "ZZ")
			if err != nil || !phonenumbers.IsPossibleNumber(num) {
				continue
			}
			conf := ConfidenceMedium
			if phonenumbers.IsValidNumber(num) {
				conf = ConfidenceHigh
			}
			s.add(r.start-1, r.g[j].end, conf)
			return
		}
		return
	}
	// North American formats: (202) 555-0143, 202-555-0143, 202.555.0143, 1-202-555-0143.
	start := r.start
	if r.paren {
		start--
	}
	if r.n == 3 && r.size(0) == 3 && r.size(1) == 3 && r.size(2) == 4 && nanp(t, r, 0) {
		switch {
		case r.paren && r.sep[0] == ')' && (r.sep[1] == '-' || r.sep[1] == ' ' || r.sep[1] == '.'),
			!r.paren && r.sep[0] == r.sep[1] && (r.sep[0] == '-' || r.sep[0] == '.'),
			!r.paren && r.sep[0] == ' ' && r.sep[1] == ' ' && wordBefore(t, start, 32, phoneWords...):
			if !isAlnum(at(t, start-1)) && !(r.sep[0] == '.' && at(t, r.end) == '.' && isDigit(at(t, r.end+1))) {
				s.add(start, r.end, ConfidenceHigh)
			}
			return
		}
	}
	if r.n == 4 && r.size(0) == 1 && t[r.start] == '1' && r.size(1) == 3 && r.size(2) == 3 && r.size(3) == 4 && r.sameSep(0, 3, r.sep[0]) && (r.sep[0] == '-' || r.sep[0] == '.' || r.sep[0] == ' ') && nanp(t, r, 1) {
		if !isAlnum(at(t, start-1)) {
			s.add(r.start, r.end, ConfidenceHigh)
		}
		return
	}
	// Anything else needs a word like "phone" before it, and must not be
	// shaped like a date or version (22.05.1969, 2411.05.12, 03/15/85).
	if r.n == 3 && (r.sep[0] == '.' || r.sep[0] == '/') && r.sep[0] == r.sep[1] && r.size(1) <= 2 && (r.size(0) <= 2 || r.size(2) <= 2) {
		return
	}
	d := r.digits(0, r.n-1)
	if d < 7 || d > 15 || isAlnum(at(t, start-1)) || r.n == 1 && d != 10 && d != 11 || !wordBefore(t, start, 32, phoneWords...) {
		return
	}
	raw := t[start:r.end]
	for _, region := range phoneRegions {
		num, err := phonenumbers.Parse(raw, region)
		if err == nil && phonenumbers.IsValidNumber(num) {
			s.add(start, r.end, ConfidenceMedium)
			return
		}
	}
}

// nanp: area code and exchange start with 2-9.
func nanp(t string, r *digitRun, k int) bool {
	return t[r.g[k].start] >= '2' && t[r.g[k+1].start] >= '2'
}

// ipv4: four dotted octets, not part of a longer dotted sequence or a version.
func ipv4(s *scan, _ string, _ int) {
	t, r := s.text, &s.run
	for i := 0; i+3 < r.n; i++ {
		if !r.sameSep(i, i+3, '.') || (i > 0 && r.sep[i-1] == '.') || (i+4 < r.n && r.sep[i+3] == '.') {
			continue
		}
		start, end := r.g[i].start, r.g[i+3].end
		if i == 0 && (isAlnum(at(t, start-1)) || at(t, start-1) == '.' || at(t, start-1) == '-') || isAlpha(at(t, end)) || at(t, end) == '.' && isAlnum(at(t, end+1)) {
			continue
		}
		var oct [4]int
		ok := true
		for k := 0; k < 4; k++ {
			g := r.g[i+k]
			v := t[g.start:g.end]
			oct[k] = atoi(v)
			if len(v) > 3 || oct[k] > 255 || len(v) > 1 && v[0] == '0' {
				ok = false
				break
			}
		}
		if !ok || wordBefore(t, start, 20, "version", "ver ", "ver.", "build", "release", "v.", "oid", "firmware", "section", "sect.",
			"figure", "fig.", "table", "chapter", "step", "clause", "rule", "tag", "image", "§", "rev", "patch", "control",
			"requirement", "paragraph", "appendix", "article", "item", "benchmark", "cis ", "nist") {
			continue
		}
		conf := ConfidenceHigh
		switch {
		case oct[0] == 0, oct[0] == 127, oct[0] == 255, oct[0] >= 224:
			conf = ConfidenceLow
		case oct[0] == 10, oct[0] == 172 && oct[1] >= 16 && oct[1] <= 31, oct[0] == 192 && oct[1] == 168, oct[0] == 169 && oct[1] == 254:
			conf = ConfidenceMedium
		}
		s.add(start, end, conf)
	}
}

// ibanLengths is the IBAN length per country (ISO 13616 registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
	"RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// iban: a country code, two check digits and the BBAN, with or without
// spaces every four characters, that passes the mod-97 check.
func iban(s *scan, _ string, _ int) {
	t, r := s.text, &s.run
	st := r.start - 2
	if st < 0 || !isUpper(t[st]) || !isUpper(t[st+1]) || isAlnum(at(t, st-1)) || r.size(0) < 2 {
		return
	}
	want, ok := ibanLengths[t[st:st+2]]
	if !ok {
		return
	}
	var buf [34]byte
	n, i := 0, st
	for n < want && i < len(t) {
		b := t[i]
		switch {
		case isUpper(b) || isDigit(b):
			buf[n] = b
			n++
			i++
		case b == ' ' && n%4 == 0 && n > 0 && i+1 < len(t) && isAlnum(t[i+1]):
			i++
		default:
			return
		}
	}
	if n != want || isAlnum(at(t, i)) || !ibanMod97(string(buf[:n])) {
		return
	}
	s.add(st, i, ConfidenceHigh)
}
