package engine

import (
	"net/netip"
	"strings"
)

// email: local@domain.tld, with a real top-level domain.
func email(s *scan, _ string, end int) {
	t := s.text
	at0 := end - 1
	if at0 < s.emailEnd {
		return
	}
	// Local part: ASCII atoms and UTF-8 (RFC 6531), starting at a rune boundary.
	ls := backWhile(t, at0, 64, func(b byte) bool { return isAlnum(b) || ctype[b]&cEmailLocal != 0 || b >= 0x80 })
	for ls < at0 && !isAlnum(t[ls]) && !(t[ls] >= 0xC0) {
		ls++
	}
	if ls == at0 {
		return
	}
	if at(t, ls-1) == ':' {
		// user:password@host in a URL belongs to the URL detector.
		from := backWhile(t, ls, 128, func(b byte) bool { return !isSpace(b) && b != '"' && b != '\'' })
		if strings.Contains(t[from:ls], "://") {
			return
		}
	}
	de := spanWhile(t, at0+1, 253, func(b byte) bool { return isAlnum(b) || b == '-' || b == '.' || b >= 0x80 })
	for de > at0+1 && (t[de-1] == '.' || t[de-1] == '-') {
		de--
	}
	dom := t[at0+1 : de]
	dot := strings.LastIndexByte(dom, '.')
	if dot <= 0 || !isAlnum(dom[0]) {
		return
	}
	if !knownTLD(dom[dot+1:]) {
		// "jane@example.org’s": end the domain after the TLD's letters.
		k := spanWhile(dom, dot+1, 24, isAlpha)
		if k == dot+1 || isAlnum(at(dom, k)) || !knownTLD(dom[dot+1:k]) {
			return
		}
		de = at0 + 1 + k
	}
	if at(t, de) == ':' && isAlpha(at(t, de+1)) {
		return // git@github.com:org/repo
	}
	s.emailEnd = de
	s.add(ls, de, ConfidenceHigh)
}

// knownTLD accepts any two-letter country code and the common generic TLDs.
func knownTLD(tld string) bool {
	for i := 0; i < len(tld); i++ {
		if !isAlpha(tld[i]) {
			return false
		}
	}
	if len(tld) == 2 {
		return true
	}
	_, ok := genericTLDs[strings.ToLower(tld)]
	return ok
}

var genericTLDs = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, t := range strings.Fields(`com net org edu gov mil int info biz name pro aero coop museum mobi
		io app dev cloud tech online site store shop blog email systems solutions services digital network
		company agency consulting software group global world today live news media health bank finance
		insurance legal law academy school university expert security support team works center zone email
		xyz top club space website host link click page one art design studio ltd inc llc gmbh corp
		amazon aws google microsoft apple`) {
		m[t] = struct{}{}
	}
	return m
}()

// ipv6: addresses with at least two colons that net/netip accepts.
func ipv6(s *scan, _ string, end int) {
	t := s.text
	c := end - 1
	if c < s.ipv6End {
		return
	}
	prev, next := at(t, c-1), at(t, c+1)
	if !(isHex(prev) || prev == ':') || !(isHex(next) || next == ':') {
		return
	}
	ok := func(b byte) bool { return isHex(b) || b == ':' || b == '.' }
	st := backWhile(t, c, 45, ok)
	en := spanWhile(t, c, 45, ok)
	s.ipv6End = en
	for en > st && (t[en-1] == '.' || t[en-1] == ':' && at(t, en-2) != ':') {
		en--
	}
	if isAlnum(at(t, st-1)) || at(t, st-1) == '-' || at(t, st-1) == '_' || isAlpha(at(t, en)) || strings.Count(t[st:en], ":") < 2 {
		return
	}
	hex := 0
	for i := st; i < en; i++ {
		if isHex(t[i]) {
			hex++
		}
	}
	if hex < 5 {
		return // "a::b", "10::20"
	}
	a, err := netip.ParseAddr(t[st:en])
	if err != nil {
		// "2001:db8::1:8080" in access logs: drop a trailing decimal port.
		if c := strings.LastIndexByte(t[st:en], ':'); c > 0 && en-(st+c+1) >= 2 && atoi(t[st+c+1:en]) >= 0 {
			if b, err2 := netip.ParseAddr(t[st : st+c]); err2 == nil {
				a, err, en = b, nil, st+c
			}
		}
	}
	if err != nil || !a.Is6() || a.IsUnspecified() {
		return
	}
	conf := ConfidenceHigh
	if a.IsLoopback() {
		conf = ConfidenceLow
	} else if a.IsPrivate() || a.IsLinkLocalUnicast() {
		conf = ConfidenceMedium
	}
	s.add(st, en, conf)
}

// wordKeyword reports whether the keyword that ends at end stands as a word.
func wordKeyword(t, kw string, end int) bool {
	return !isAlpha(at(t, end-len(kw)-1)) && !isAlpha(at(t, end))
}

// skipLabel moves past separators and filler words ("no", "number", "is",
// ...) between a context keyword and its value.
func skipLabel(t string, i int, fillers ...string) int {
	for n := 0; n < 6; n++ {
		j := spanWhile(t, i, 8, func(b byte) bool {
			return b == ' ' || b == '\t' || b == ':' || b == '=' || b == '#' || b == '.' || b == '-' || b == '"' || b == '\'' || b == '(' || b == ')' || b == ','
		})
		moved := j > i
		i = j
		for _, f := range fillers {
			if hasPrefixFold(t, i, f) && !isAlpha(at(t, i+len(f))) {
				i += len(f)
				moved = true
				break
			}
		}
		if !moved {
			break
		}
	}
	return i
}

// dateOfBirth: a date right after "date of birth", "DOB", "born on", ...
func dateOfBirth(s *scan, kw string, end int) {
	t := s.text
	if !wordKeyword(t, kw, end) {
		return
	}
	i := skipLabel(t, end, "is", "on", "was", "of")
	if e := parseDate(t, i); e > i {
		s.add(i, e, ConfidenceHigh)
	}
}

var months = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

// monthAt returns the month (1-12) named at t[i:] (full or three-letter) and the end.
func monthAt(t string, i int) (int, int) {
	for m, name := range months {
		if hasPrefixFold(t, i, name) && !isAlpha(at(t, i+len(name))) {
			return m + 1, i + len(name)
		}
		if hasPrefixFold(t, i, name[:3]) {
			e := i + 3
			if at(t, e) == '.' {
				e++
			}
			if !isAlpha(at(t, e)) {
				return m + 1, e
			}
		}
	}
	return 0, i
}

// parseDate returns the end of a plausible date at t[i:], or i.
func parseDate(t string, i int) int {
	num := func(j int) (int, int) {
		e := spanWhile(t, j, 5, isDigit)
		return atoi(t[j:e]), e
	}
	validDay := func(d int) bool { return d >= 1 && d <= 31 }
	validYear := func(y, digits int) bool { return digits == 2 || digits == 4 && y >= 1900 && y <= 2030 }
	if isDigit(at(t, i)) {
		a, ae := num(i)
		sep := at(t, ae)
		if sep == '-' || sep == '/' || sep == '.' {
			b, be := num(ae + 1)
			if at(t, be) == sep {
				c, ce := num(be + 1)
				if isAlnum(at(t, ce)) || be == ae+1 || ce == be+1 {
					return i
				}
				switch {
				case ae-i == 4: // YYYY-MM-DD
					if validYear(a, 4) && b >= 1 && b <= 12 && validDay(c) && ce-be-1 <= 2 {
						return ce
					}
				case ae-i <= 2 && validYear(c, ce-be-1): // MM/DD/YYYY or DD/MM/YYYY
					if (a >= 1 && a <= 12 && validDay(b)) || (b >= 1 && b <= 12 && validDay(a)) {
						return ce
					}
				}
				return i
			}
			if m, me := monthAt(t, ae+1); m > 0 && at(t, me) == sep { // 05-Mar-1985
				c, ce := num(me + 1)
				if validDay(a) && validYear(c, ce-me-1) && !isAlnum(at(t, ce)) {
					return ce
				}
			}
			return i
		}
		// 5 March 1985, 5th March 1985
		j := ae
		for _, suf := range []string{"st", "nd", "rd", "th"} {
			if hasPrefixFold(t, j, suf) {
				j += 2
				break
			}
		}
		if at(t, j) == ' ' {
			if m, me := monthAt(t, j+1); m > 0 && validDay(a) {
				k := me
				if at(t, k) == ',' {
					k++
				}
				if at(t, k) == ' ' {
					if y, ye := num(k + 1); validYear(y, ye-k-1) && ye-k-1 == 4 {
						return ye
					}
				}
			}
		}
		return i
	}
	// March 5, 1985
	if m, me := monthAt(t, i); m > 0 && at(t, me) == ' ' {
		d, de := num(me + 1)
		if !validDay(d) {
			return i
		}
		k := de
		for _, suf := range []string{"st", "nd", "rd", "th"} {
			if hasPrefixFold(t, k, suf) {
				k += 2
				break
			}
		}
		if at(t, k) == ',' {
			k++
		}
		if at(t, k) == ' ' {
			if y, ye := num(k + 1); ye-k-1 == 4 && validYear(y, 4) {
				return ye
			}
		}
	}
	return i
}

// documentNumber: the identifier after "passport" or "driver's license":
// letters, digits and dashes with enough digits.
func documentNumber(minDigits int, allowDash bool) func(*scan, string, int) {
	return func(s *scan, kw string, end int) {
		t := s.text
		if isAlpha(at(t, end-len(kw)-1)) {
			return
		}
		i := end
		// passportNumber, passport_no, drivers_license_number: a label glued to the keyword.
		if j := spanWhile(t, i, 16, func(b byte) bool { return isAlpha(b) || b == '_' }); j > i && isAlpha(t[end-1]) {
			label := strings.ToLower(strings.TrimLeft(t[i:j], "_"))
			switch label {
			case "number", "num", "no", "nr", "id":
				i = j
			default:
				return
			}
		}
		i = skipLabel(t, i, "number", "num", "no", "nr", "id", "is", "#")
		e := spanWhile(t, i, 21, func(b byte) bool { return isAlnum(b) || allowDash && b == '-' })
		// Digits in groups: 285 761 778.
		for allowDash && at(t, e) == ' ' && isDigit(at(t, e+1)) && isDigit(at(t, e-1)) && e-i < 16 {
			e = spanWhile(t, e+1, 8, isDigit)
		}
		for e > i && t[e-1] == '-' {
			e--
		}
		v := strings.ReplaceAll(t[i:e], " ", "")
		if len(v) < 5 || len(v) > 20 || isAlnum(at(t, e)) {
			return
		}
		digits, lowers := 0, 0
		for j := 0; j < len(v); j++ {
			if isDigit(v[j]) {
				digits++
			} else if isLower(v[j]) {
				lowers++
			}
		}
		if digits < minDigits || lowers > 0 {
			return
		}
		s.add(i, e, ConfidenceHigh)
	}
}
