package engine

import (
	"encoding/base64"
	"strings"
)

// Parsers for credentials recognised by their own prefix.

// awsKeyID finds AKIA/ASIA/... key IDs: a 4-byte prefix (or A3T plus one
// [A-Z0-9]) and 16 base32 characters, 20 in all, standing alone.
func awsKeyID(s *scan, kw string, end int) {
	t := s.text
	start := end - len(kw)
	if !isUpper(t[start]) || isAlnum(at(t, start-1)) {
		return
	}
	for i := start; i < end; i++ { // exact case: AKIA, not akia
		if !isUpper(t[i]) && !isDigit(t[i]) {
			return
		}
	}
	body := end
	if kw == "a3t" {
		if !isUpper(at(t, end)) && !isDigit(at(t, end)) {
			return
		}
		body++
	}
	stop := spanWhile(t, body, 16, isB32Up)
	if stop-body != 16 || isAlnum(at(t, stop)) || filler(t[body:stop]) {
		return
	}
	conf := ConfidenceHigh
	if strings.Contains(t[start:stop], "EXAMPLE") {
		conf = ConfidenceLow
	}
	s.add(start, stop, conf)
	pairedSecretKey(s, start, stop)
}

// pairedSecretKey: a secret access key usually travels with its key ID, in
// the same line or the next (credentials CSVs, code, chat). A 40-character
// base64 value within a short distance of an access key ID is reported as its
// secret, without needing a secret-key word.
func pairedSecretKey(s *scan, start, stop int) {
	t := s.text
	from, to := max(0, start-200), min(len(t), stop+200)
	for i := from; i < to; {
		if !isB64(t[i]) {
			i++
			continue
		}
		j := spanWhile(t, i, 41, isB64)
		if j-i == 40 && !isB64(at(t, j)) && !isB64(at(t, i-1)) && (i >= stop || j <= start) {
			v := t[i:j]
			if charClasses(v) >= 3 && entropy(v) >= 4 {
				det := s.det
				s.det = pairedSecretDetector
				conf := ConfidenceHigh
				if strings.Contains(v, "EXAMPLE") {
					conf = ConfidenceLow
				}
				s.add(i, j, conf)
				s.det = det
			}
		}
		i = spanWhile(t, j, len(t), isB64)
	}
}

// pairedSecretDetector reports secrets found next to key IDs under the
// secret-key detector's name.
var pairedSecretDetector = &detector{Detector: Detector{Name: "aws-secret-access-key", Entity: "AWS_SECRET_ACCESS_KEY", Category: CategoryCredential}, priority: prioToken}

// prefixed returns a detector parser for tokens that start with an exact
// (case-sensitive) prefix kw followed by min..max bytes accepted by ok, not
// preceded by a word byte and not followed by an accepted byte.
func prefixed(min, max int, ok func(byte) bool, conf Confidence) func(*scan, string, int) {
	return func(s *scan, kw string, end int) {
		t := s.text
		start := end - len(kw)
		if t[start:end] != kwCase(s, kw) || isWord(at(t, start-1)) {
			return
		}
		stop := spanWhile(t, end, max+1, ok)
		if n := stop - end; n < min || n > max || filler(t[end:stop]) {
			return
		}
		s.add(start, stop, conf)
	}
}

// kwCase returns the exact-case form of a prefix keyword: the detector's
// keyword as written in its Keywords list keeps its case in keywordCase.
func kwCase(s *scan, kw string) string {
	if c, ok := keywordCase[kw]; ok {
		return c
	}
	return kw
}

// keywordCase maps lower-case prefilter keywords to the exact case the token
// format requires, for prefixes that are not all lower case.
var keywordCase = map[string]string{
	"aiza":             "AIza",
	"eyj":              "eyJ",
	"iqojb3jpz2lux2vj": "IQoJb3JpZ2luX2Vj",
	"fwogzxivyxdze":    "FwoGZXIvYXdzE",
	"fqogzxivyxdze":    "FQoGZXIvYXdzE",
}

func isAlnumDash(b byte) bool  { return isAlnum(b) || b == '-' }
func isGitLabByte(b byte) bool { return isAlnum(b) || b == '-' || b == '_' || b == '.' }

// googleAPIKey: AIza and exactly 35 [A-Za-z0-9_-].
func googleAPIKey(s *scan, kw string, end int) {
	t := s.text
	start := end - len(kw)
	if t[start:end] != "AIza" || isB64URL(at(t, start-1)) {
		return
	}
	stop := spanWhile(t, end, 36, isB64URL)
	if stop-end != 35 || filler(t[end:stop]) {
		return
	}
	s.add(start, stop, ConfidenceHigh)
}

// stripeKey: sk_/rk_ live or test keys.
func stripeKey(s *scan, kw string, end int) {
	t := s.text
	start := end - len(kw)
	if t[start:end] != kw || isWord(at(t, start-1)) {
		return
	}
	stop := spanWhile(t, end, 248, isAlnum)
	if stop-end < 24 || filler(t[end:stop]) {
		return
	}
	conf := ConfidenceHigh
	if strings.Contains(kw, "test") {
		conf = ConfidenceMedium
	}
	s.add(start, stop, conf)
}

// slackToken: xoxb-/xoxp-/... and xapp- tokens.
func slackToken(s *scan, kw string, end int) {
	t := s.text
	start := end - len(kw)
	if t[start:end] != kw || isWord(at(t, start-1)) {
		return
	}
	stop := spanWhile(t, end, 256, isAlnumDash)
	if stop-end < 10 || filler(t[end:stop]) {
		return
	}
	digits := false
	for i := end; i < stop; i++ {
		if isDigit(t[i]) {
			digits = true
			break
		}
	}
	if digits {
		s.add(start, stop, ConfidenceHigh)
	}
}

// slackWebhook: https://hooks.slack.com/services/T.../B.../secret.
func slackWebhook(s *scan, kw string, end int) {
	t := s.text
	start := end - len(kw)
	switch {
	case hasPrefixFold(t, start-8, "https://"):
		start -= 8
	case hasPrefixFold(t, start-7, "http://"):
		start -= 7
	}
	stop := spanWhile(t, end, 128, func(b byte) bool { return isAlnum(b) || b == '/' || b == '_' || b == '-' })
	if stop-end < 20 || strings.Count(t[end:stop], "/") < 2 || filler(t[end:stop]) {
		return
	}
	s.add(start, stop, ConfidenceHigh)
}

// azureStorageKey: the base64 value of AccountKey= in a connection string.
func azureStorageKey(s *scan, kw string, end int) {
	t := s.text
	stop := spanWhile(t, end, 128, func(b byte) bool { return isB64(b) || b == '=' })
	if stop-end < 44 || charClasses(t[end:stop]) < 3 {
		return
	}
	s.add(end, stop, ConfidenceHigh)
}

// jwt: three base64url segments, header and payload JSON objects.
func jwt(s *scan, kw string, end int) {
	t := s.text
	start := end - len(kw)
	if t[start:end] != "eyJ" || isB64URL(at(t, start-1)) {
		return
	}
	h := spanWhile(t, start, 2048, isB64URL)
	if h-start < 10 || at(t, h) != '.' || !strings.HasPrefix(t[h+1:], "eyJ") {
		return
	}
	p := spanWhile(t, h+1, 16384, isB64URL)
	if p-(h+1) < 4 {
		return
	}
	stop := p
	if at(t, p) == '.' {
		stop = spanWhile(t, p+1, 4096, isB64URL)
	}
	var buf [1536]byte
	hdr := t[start:h]
	if base64.RawURLEncoding.DecodedLen(len(hdr)) > len(buf) {
		return
	}
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(hdr))
	if err != nil || n < 2 || buf[0] != '{' {
		return
	}
	if !strings.Contains(string(buf[:n]), `"alg"`) && !strings.Contains(string(buf[:n]), `"typ"`) {
		return
	}
	s.add(start, stop, ConfidenceHigh)
}

// privateKey: a PEM private key block, BEGIN to END. Without an END line the
// match runs over the body that follows (at most 16 KiB).
func privateKey(s *scan, kw string, end int) {
	t := s.text
	start := end - len(kw)
	if !strings.HasPrefix(t[start:], "-----BEGIN ") {
		return
	}
	labelEnd := spanWhile(t, start+11, 64, func(b byte) bool { return isUpper(b) || isDigit(b) || b == ' ' })
	label := t[start+11 : labelEnd]
	if !strings.HasPrefix(t[labelEnd:], "-----") || !(strings.HasSuffix(label, "PRIVATE KEY") || strings.HasSuffix(label, "PRIVATE KEY BLOCK")) {
		return
	}
	bodyStart := labelEnd + 5
	if bodyStart < s.pemSkip {
		return // inside a block already reported
	}
	const maxBlock = 16 << 10
	// The next END line at or after this BEGIN, found once per scan so that a
	// text of many BEGINs without END stays linear.
	if s.pemEnd != -2 && s.pemEnd < bodyStart {
		if i := strings.Index(t[bodyStart:], "-----END"); i >= 0 {
			s.pemEnd = bodyStart + i
		} else {
			s.pemEnd = -2 // none from here on
		}
	}
	if s.pemEnd >= 0 && s.pemEnd-bodyStart <= maxBlock {
		if !keyMaterial(t, bodyStart, s.pemEnd) {
			return // "...", "<paste your key here>"
		}
		stop := s.pemEnd + 8
		if i := strings.Index(t[stop:min(len(t), stop+80)], "-----"); i >= 0 {
			stop += i + 5
		}
		s.pemSkip = stop
		s.add(start, stop, ConfidenceHigh)
		return
	}
	stop := spanWhile(t, bodyStart, maxBlock, func(b byte) bool {
		return isB64(b) || b == '=' || isSpace(b) || b == '\\' || b == ':' || b == '-' || b == ','
	})
	s.pemSkip = stop
	// Without an END line, only a body that holds key material counts.
	if keyMaterial(t, bodyStart, stop) {
		s.add(start, stop, ConfidenceHigh)
	}
}

// keyMaterial: a PEM body holds a base64 run of at least 24 characters.
func keyMaterial(t string, from, to int) bool {
	for i := from; i < to; {
		j := spanWhile(t, i, to-i, isB64)
		if j-i >= 24 {
			return true
		}
		i = j + 1
	}
	return false
}

// filler reports a token body that is a placeholder: mostly one repeated
// character ("XXXXXXXX", "xxxx", "0000") or too uniform to be random.
func filler(body string) bool {
	if len(body) < 8 {
		return false
	}
	var counts [256]uint16
	top := uint16(0)
	for i := 0; i < len(body); i++ {
		counts[body[i]]++
		top = max(top, counts[body[i]])
	}
	return int(top)*2 >= len(body) || entropy(body) < 2.5
}

// awsSessionTokenPrefix: STS session tokens start with one of two known
// base64 prefixes. A token that is the value of X-Amz-Security-Token in a
// URL is left to the URL detector.
func awsSessionTokenPrefix(s *scan, kw string, end int) {
	t := s.text
	start := end - len(kw)
	if t[start:end] != kwCase(s, kw) || isB64(at(t, start-1)) {
		return
	}
	if hasPrefixFold(t, start-len("x-amz-security-token="), "x-amz-security-token=") {
		return
	}
	stop := spanWhile(t, end, 4096, func(b byte) bool { return isB64(b) || b == '=' || b == '%' })
	if stop-start < 80 {
		return
	}
	s.add(start, stop, ConfidenceHigh)
}

// iamUniqueID: AIDA/AROA/... followed by 16 or 17 of [A-Z0-9], standing alone.
func iamUniqueID(s *scan, kw string, end int) {
	t := s.text
	start := end - len(kw)
	if isAlnum(at(t, start-1)) {
		return
	}
	for i := start; i < end; i++ {
		if !isUpper(t[i]) {
			return
		}
	}
	stop := spanWhile(t, end, 18, func(b byte) bool { return isUpper(b) || isDigit(b) })
	if n := stop - end; n < 16 || n > 17 || isAlnum(at(t, stop)) {
		return
	}
	conf := ConfidenceHigh
	if strings.Contains(t[start:stop], "EXAMPLE") {
		conf = ConfidenceLow
	}
	s.add(start, stop, conf)
}
