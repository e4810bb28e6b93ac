package engine

import "strings"

// urlCredentials finds credentials in URLs: the user:password of the
// userinfo, and the values of query parameters that carry secrets
// (presigned-URL signatures and security tokens, token, sig, key, ...).
func urlCredentials(s *scan, kw string, end int) {
	t := s.text
	p := end - len(kw) // at "://"
	if p < s.urlEnd {
		return
	}
	schemeStart := backWhile(t, p, 32, func(b byte) bool { return isAlnum(b) || b == '+' || b == '.' || b == '-' })
	if p-schemeStart < 2 || !isAlpha(t[schemeStart]) {
		return
	}
	const maxURL = 8192
	urlEnd := end
	for urlEnd < len(t) && urlEnd-end < maxURL && !urlTerminator(t, urlEnd) {
		urlEnd++
	}
	s.urlEnd = urlEnd
	// Userinfo runs to the last '@' before the first '/': passwords pasted
	// raw may hold '#' or '?'.
	slash := strings.IndexByte(t[end:urlEnd], '/')
	if slash < 0 {
		slash = urlEnd - end
	}
	hostStart := end
	if at := strings.LastIndexByte(t[end:end+slash], '@'); at > 0 {
		ui := t[end : end+at]
		hostStart = end + at + 1
		if c := strings.IndexByte(ui, ':'); c >= 0 && !strings.ContainsAny(ui[:c], "?#/") {
			if pw := ui[c+1:]; pw != "" && !placeholder(pw) {
				s.add(end, end+at, ConfidenceHigh)
			}
		} else if c < 0 && len(ui) >= 20 && symbolClasses(ui) >= 2 && entropy(ui) >= 3.5 && strings.IndexFunc(ui, func(r rune) bool { return r > 127 || !isB64URL(byte(r)) }) < 0 {
			s.add(end, end+at, ConfidenceMedium) // a bare token as userinfo
		}
	}
	authEnd := hostStart
	for authEnd < urlEnd && t[authEnd] != '/' && t[authEnd] != '?' && t[authEnd] != '#' {
		authEnd++
	}
	q := strings.IndexByte(t[authEnd:urlEnd], '?')
	if q < 0 {
		return
	}
	i := authEnd + q + 1
	for i < urlEnd {
		ke := i
		for ke < urlEnd && t[ke] != '=' && t[ke] != '&' && t[ke] != '#' {
			ke++
		}
		if ke >= urlEnd || t[ke] != '=' {
			i = ke + 1
			if ke < urlEnd && t[ke] == '#' {
				return
			}
			continue
		}
		vs := ke + 1
		ve := vs
		for ve < urlEnd && t[ve] != '&' && t[ve] != '#' {
			ve++
		}
		checkParam(s, t[i:ke], vs, ve)
		if ve < urlEnd && t[ve] == '#' {
			return
		}
		i = ve + 1
	}
}

// checkParam reports a query parameter's value when the parameter carries a secret.
func checkParam(s *scan, key string, vs, ve int) {
	v := s.text[vs:ve]
	if v == "" {
		return
	}
	switch strings.ToLower(key) {
	case "x-amz-signature", "x-amz-security-token", "signature", "x-goog-signature":
		if len(v) >= 16 {
			s.add(vs, ve, ConfidenceHigh)
		}
	case "token", "access_token", "refresh_token", "id_token", "auth_token", "sig", "key", "api_key", "apikey",
		"password", "passwd", "pwd", "secret", "client_secret", "private_token", "session_token":
		if len(v) >= 8 && !placeholder(v) && (symbolClasses(v) >= 2 || len(v) >= 24) && entropy(v) >= 2.5 {
			s.add(vs, ve, ConfidenceHigh)
		}
	}
}

// urlTerminator reports whether t[i] ends a URL: whitespace, quotes and
// brackets, or trailing punctuation followed by whitespace or the end.
func urlTerminator(t string, i int) bool {
	switch b := t[i]; b {
	case ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '`', '|', '\\', '^', '{', '}', ')', ']':
		return true
	case '.', ',', ';', ':', '!':
		n := at(t, i+1)
		return n == 0 || isSpace(n) || n == '"' || n == '\'' || n == ')'
	default:
		return b < 0x20
	}
}

// presignedParam: the value of a presigned-URL signature or token parameter.
func presignedParam(s *scan, kw string, end int) {
	t := s.text
	ve := spanWhile(t, end, 4096, func(b byte) bool { return isB64URL(b) || b == '%' || b == '+' || b == '/' || b == '=' })
	if ve-end >= 16 && !filler(t[end:ve]) {
		s.add(end, ve, ConfidenceHigh)
	}
}
