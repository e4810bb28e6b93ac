package engine

import (
	"encoding/base64"
	"strings"
)

// Parsers for secrets recognised by the words around them.

// placeholder reports whether an assigned value is a reference, template or
// stand-in rather than a secret.
func placeholder(v string) bool {
	if v == "" {
		return true
	}
	switch v[0] {
	case '$', '%', '{', '<', '[', '*', '&', '!', '@', '(':
		return true
	}
	if placeholderAC.contains(v) {
		return true
	}
	same := true
	for i := 1; i < len(v); i++ {
		if v[i] != v[0] {
			same = false
			break
		}
	}
	return same
}

var placeholderWords = []string{
	"${", "{{", "<", ">", "%(", "$(", "changeme", "change_me", "change-me", "placeholder",
	"example", "your_", "your-", "yourpass", "xxxx", "****", "...", "redacted", "dummy",
	"null", "undefined", "process.env", "os.environ", "getenv", "env(", "vault:", "ssm:",
	"secretsmanager", "arn:aws:", "secret_name", "keyvault", "todo", "fixme", "insert", "replace", "sample", "test123",
}

var placeholderAC = newACDFA(placeholderWords)

// symbolClasses counts lower, upper, digit and symbol bytes of s, where the
// separators _ - . / do not count as symbols (they make identifiers and paths).
func symbolClasses(s string) int {
	var lo, up, di, sy bool
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case isLower(b):
			lo = true
		case isUpper(b):
			up = true
		case isDigit(b):
			di = true
		case b == '_' || b == '-' || b == '.' || b == '/':
		default:
			sy = true
		}
	}
	n := 0
	for _, v := range []bool{lo, up, di, sy} {
		if v {
			n++
		}
	}
	return n
}

// secretKeySuffixes are what may follow a secret keyword in a key name
// ("password", "DB_PASSWORD_1", "secret_key", "apiKeyValue").
var secretKeySuffixes = []string{"", "s", "_key", "key", "-key", "_value", "value", "_str", "_string", "1", "2", "_1", "_2", "_plain", "_b64", "_base64"}

func allowedSuffix(suf string) bool {
	suf = strings.ToLower(suf)
	for _, a := range secretKeySuffixes {
		if suf == a {
			return true
		}
	}
	return strings.HasPrefix(suf, "_key") || strings.HasPrefix(suf, "key")
}

// notSecretKeys are key names that hold identifiers, not secrets, although
// they contain a secret word: AWS pagination and idempotency tokens.
// Compared without '_', '-' and '.'.
var notSecretKeys = []string{"nexttoken", "pagetoken", "paginationtoken", "continuationtoken", "idempotencytoken",
	"clienttoken", "clientrequesttoken", "synctoken", "resumptiontoken", "tokenid", "secretid", "secretname",
	"proxypass", "fastcgipass", "uwsgipass", "grpcpass", "scgipass", "bypass", "compass", "sortkey", "partitionkey",
	"primarykey", "foreignkey", "hashkey", "rangekey", "objectkey", "s3key", "cachekey", "keyid", "publickey"}

// secretAssignment finds secrets assigned to a password, secret, token or
// API-key name: `password = value`, `"token": "value"`, `--secret value`,
// `<password>value</password>`, `?token=value`, `password is value`, name and
// value in sibling fields (`name: DB_PASSWORD` / `value: ...`), and, for
// values that are unmistakably random, `password value`.
func secretAssignment(s *scan, kw string, end int) {
	t := s.text
	kwStart := end - len(kw)
	keyStart := backWhile(t, kwStart, 64, isIdent)
	for keyStart < kwStart && (t[keyStart] == '-' || t[keyStart] == '.') {
		keyStart++ // --password: the dashes belong to the flag, not the key
	}
	keyEnd := spanWhile(t, end, 32, isWord)
	suffix := t[end:keyEnd]
	if (kw == "pass" || kw == "_key") && suffix != "" || !allowedSuffix(suffix) {
		return
	}
	if kw == "identified by" {
		// SQL: IDENTIFIED BY 'password'.
		i := spanWhile(t, end, 4, func(b byte) bool { return b == ' ' })
		if q := at(t, i); q == '"' || q == '\'' {
			if vs, ve, ok := assignedValue(t, i, false); ok && secretLike(t[vs:ve], false) {
				s.add(vs, ve, ConfidenceHigh)
			}
		}
		return
	}
	var kb [96]byte
	key := kb[:0]
	for j := keyStart; j < keyEnd; j++ {
		if b := t[j]; b != '_' && b != '-' && b != '.' {
			key = append(key, lower(b))
		}
	}
	for _, k := range notSecretKeys {
		if len(key) >= len(k) && string(key[len(key)-len(k):]) == k {
			return
		}
	}
	if at(t, keyStart-1) == ':' {
		if from := backWhile(t, keyStart, 160, func(b byte) bool { return !isSpace(b) && b != '"' }); containsFold(t, from, keyStart, "arn:") {
			return // an ARN's resource type, as in arn:aws:secretsmanager:...:secret:name
		}
	}
	before := at(t, keyStart-1)
	i := keyEnd
	quotedKey := false
	if b := at(t, i); (b == '"' || b == '\'') && before == b {
		i++
		quotedKey = true
		if at(t, i) == ']' { // config["MAIL_PASSWORD"] = "..."
			i++
		}
	}
	for j := 0; j < 4 && (at(t, i) == ' ' || at(t, i) == '\t'); j++ {
		i++
	}
	strict := false // the value must look unmistakably random
	needQuote := false
	sibling, hasSibling := 0, false
	if quotedKey && at(t, i) == ',' {
		sibling, hasSibling = siblingValue(t, i)
	}
	switch b := at(t, i); {
	case hasSibling:
		// {"Key": "DBPassword", "Value": "..."}: name and value in sibling fields.
		i = sibling
	case b == ',' && quotedKey, b == '|' && at(t, i+1) == '|', b == '?' && at(t, i+1) == '?':
		// getenv("DB_PASSWORD", "value"), define('DB_PASSWORD', 'value'),
		// env.SECRET || 'value': a string literal after the name.
		i++
		if b != ',' {
			i++
		}
		needQuote = true
	case b == '=' && at(t, i+1) == '>', b == ':' && at(t, i+1) == '=':
		i += 2
	case b == '=' && at(t, i+1) != '=':
		i++
	case b == ':':
		i++
	case b == '>' && before == '<':
		i++
	case i > keyEnd && before == '-' && !quotedKey:
		// A command-line flag and its value: --password value.
	case (b == 'i' || b == 'I') && (at(t, i+1) == 's' || at(t, i+1) == 'S') && at(t, i+2) == ' ' && i > keyEnd:
		i += 3 // "the password is value"
		strict = true
	default:
		// Name and value in sibling fields, or a bare random value.
		if j, ok := siblingValue(t, i); ok {
			i = j
			break
		}
		if i == keyEnd || quotedKey {
			return
		}
		strict = true
	}
	for j := 0; j < 4 && (at(t, i) == ' ' || at(t, i) == '\t'); j++ {
		i++
	}
	if q := at(t, i); needQuote && q != '"' && q != '\'' && q != '`' {
		return
	}
	vs, ve, ok := assignedValue(t, i, before == '<')
	if ok && vs == ve && !needQuote {
		// "DatadogApiKey:" closing its line: the value may sit in a nested
		// "Default:" or "Value:" field below.
		if j, found := siblingValue(t, i); found {
			j = spanWhile(t, j, 4, func(b byte) bool { return b == ' ' || b == '\t' })
			vs, ve, ok = assignedValue(t, j, false)
		}
	}
	if !ok {
		return
	}
	v := t[vs:ve]
	ok, h := secretLikeH(v, strict)
	if !ok {
		return
	}
	conf := ConfidenceMedium
	if h >= 3.5 && len(v) >= 12 {
		conf = ConfidenceHigh
	}
	if before == '?' || before == '&' {
		s.addAs("URL_CREDENTIALS", CategoryCredential, vs, ve, conf)
		return
	}
	s.add(vs, ve, conf)
}

// siblingValue finds, within a short window after a key name written as a
// value (`name: DB_PASSWORD`, `"ParameterKey": "DBPassword"`), the sibling
// field that holds the value (`value:`, `"ParameterValue":`), and returns
// where that value starts.
func siblingValue(t string, i int) (int, bool) {
	limit := min(len(t), i+96)
	for j := i; j+5 <= limit; j++ {
		var w int
		switch {
		case hasPrefixFold(t, j, "value"):
			w = 5
		case hasPrefixFold(t, j, "default"):
			w = 7
		default:
			continue
		}
		if isLower(at(t, j+w)) || isAlpha(at(t, j-1)) && !(isLower(at(t, j-1)) && isUpper(t[j])) {
			continue
		}
		k := j + w
		if b := at(t, k); b == '"' || b == '\'' {
			k++
		}
		k = spanWhile(t, k, 4, func(b byte) bool { return b == ' ' || b == '\t' })
		if b := at(t, k); b == ':' || b == '=' {
			return k + 1, true
		}
		return 0, false
	}
	return 0, false
}

// assignedValue returns the value that starts at i: quoted, up to the
// closing tag for XML, or up to a delimiter.
func assignedValue(t string, i int, xml bool) (int, int, bool) {
	if q := at(t, i); q == '"' || q == '\'' || q == '`' {
		ve := spanWhile(t, i+1, 256, func(b byte) bool { return b != q && b != '\n' })
		return i + 1, ve, at(t, ve) == q
	}
	if xml {
		return i, spanWhile(t, i, 256, func(b byte) bool { return b != '<' && b != '\n' }), true
	}
	ve := spanWhile(t, i, 256, func(b byte) bool {
		return !isSpace(b) && b != ',' && b != ';' && b != '&' && b != '"' && b != '\'' && b != ')' && b != '}' && b != ']' && b != '<' && b != '>' && b != '|'
	})
	return i, ve, true
}

// secretLike reports whether an assigned value looks like a secret rather
// than a placeholder, reference, identifier or expression. strict asks for
// values that look random even without an assignment operator.
func secretLike(v string, strict bool) bool {
	ok, _ := secretLikeH(v, strict)
	return ok
}

// secretLikeH is secretLike that also returns the value's entropy.
func secretLikeH(v string, strict bool) (bool, float64) {
	if len(v) < 8 || strings.ContainsAny(v, "()") || uuidLike(v) || strings.Contains(v, "://") || pathLike(v) {
		return false, 0
	}
	classes := symbolClasses(v)
	if !hexKey(v) && (classes < 2 || strict && (classes < 3 || len(v) < 12)) {
		return false, 0
	}
	if classes == 2 && len(v) < 20 && strings.IndexFunc(v, func(r rune) bool { return !isAlpha(byte(r)) || r > 127 }) < 0 {
		return false, 0 // an identifier such as ParameterValue
	}
	if placeholder(v) {
		return false, 0
	}
	h := entropy(v)
	switch {
	case hexKey(v):
		return h >= 3, h
	case strict:
		return h >= 3.2, h
	}
	return h >= 2.5, h
}

// hexKey: 32 or more hexadecimal digits with letters and digits, the shape
// of many API keys.
func hexKey(v string) bool {
	if len(v) < 32 {
		return false
	}
	var letter, digit bool
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case isDigit(b):
			digit = true
		case isHex(b):
			letter = true
		default:
			return false
		}
	}
	return letter && digit
}

// pathLike: /home/ec2-user/app, ./bin, ~/src, logs/2024/app: lower-case
// path segments (secrets with a slash are base64 and hold upper case).
func pathLike(v string) bool {
	if !strings.Contains(v, "/") {
		return false
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; !(isLower(b) || isDigit(b) || b == '/' || b == '_' || b == '-' || b == '.' || b == '~') {
			return false
		}
	}
	return true
}

// uuidLike: 8-4-4-4-12 hexadecimal.
func uuidLike(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if v[i] != '-' {
				return false
			}
		default:
			if !isHex(v[i]) {
				return false
			}
		}
	}
	return true
}

// shortFlagPassword: mysql-style -p<password>, attached to the flag.
func shortFlagPassword(s *scan, kw string, end int) {
	t := s.text
	if b := at(t, end-len(kw)-1); b != ' ' && b != '\t' {
		return
	}
	strict := false
	vs := end
	if at(t, end) == ' ' { // docker login -u user -p value
		vs, strict = end+1, true
	}
	ve := spanWhile(t, vs, 256, func(b byte) bool { return !isSpace(b) && b != '"' && b != '\'' })
	if v := t[vs:ve]; ve > vs && secretLike(v, strict) && entropy(v) >= 3 {
		s.add(vs, ve, ConfidenceMedium)
	}
}

// userPassword: curl -u user:password, --user user:password.
func userPassword(s *scan, kw string, end int) {
	t := s.text
	if b := at(t, end-len(kw)-1); b != ' ' && b != '\t' && kw[0] == '-' {
		return
	}
	i := end
	if q := at(t, i); q == '"' || q == '\'' {
		i++
	}
	ue := spanWhile(t, i, 128, func(b byte) bool { return b != ':' && !isSpace(b) && b != '"' && b != '\'' })
	if at(t, ue) != ':' || ue == i {
		return
	}
	vs := ue + 1
	ve := spanWhile(t, vs, 256, func(b byte) bool { return !isSpace(b) && b != '"' && b != '\'' })
	if v := t[vs:ve]; secretLike(v, false) {
		s.add(vs, ve, ConfidenceHigh)
	}
}

// valueAfter finds the first run of accept bytes, of length min..max, that
// starts within window bytes after end and stands alone.
func valueAfter(t string, end, window, min, max int, accept func(byte) bool) (int, int, bool) {
	limit := end + window
	if limit > len(t) {
		limit = len(t)
	}
	for i := end; i < limit; {
		if !accept(t[i]) {
			i++
			continue
		}
		j := spanWhile(t, i, max+1, accept)
		if n := j - i; n >= min && n <= max && !accept(at(t, i-1)) {
			return i, j, true
		}
		i = j
	}
	return 0, 0, false
}

// awsSecretKey: 40 base64 characters after a secret-access-key keyword.
func awsSecretKey(s *scan, kw string, end int) {
	t := s.text
	vs, ve, ok := valueAfter(t, end, 48, 40, 40, isB64)
	if !ok || charClasses(t[vs:ve]) < 2 {
		return
	}
	conf := ConfidenceHigh
	if strings.Contains(t[vs:ve], "EXAMPLE") {
		conf = ConfidenceLow
	}
	s.add(vs, ve, conf)
}

// awsSessionTokenContext: a long token after aws_session_token and friends.
func awsSessionTokenContext(s *scan, kw string, end int) {
	t := s.text
	if kw == "x-amz-security-token" && at(t, end) == '=' {
		return // a URL parameter: the URL detector reports it
	}
	vs, ve, ok := valueAfter(t, end, 32, 100, 4096, func(b byte) bool { return isB64(b) || b == '%' })
	if !ok {
		return
	}
	ve = spanWhile(t, ve, 3, func(b byte) bool { return b == '=' })
	s.add(vs, ve, ConfidenceHigh)
}

// httpAuthorization: the credential after "Basic " or "Bearer ".
func httpAuthorization(s *scan, kw string, end int) {
	t := s.text
	if isAlpha(at(t, end-len(kw)-1)) {
		return
	}
	switch kw {
	case "basic ":
		ve := spanWhile(t, end, 1024, func(b byte) bool { return isB64(b) || b == '=' })
		v := t[end:ve]
		if len(v) < 8 || isAlnum(at(t, ve)) {
			return
		}
		var buf [768]byte
		enc := base64.StdEncoding
		if !strings.HasSuffix(v, "=") && len(v)%4 != 0 {
			enc = base64.RawStdEncoding
		}
		if enc.DecodedLen(len(v)) > len(buf) {
			return
		}
		n, err := enc.Decode(buf[:], []byte(v))
		if err != nil || n < 3 {
			return
		}
		colon := false
		for _, c := range buf[:n] {
			if c < 0x20 || c > 0x7e {
				return
			}
			colon = colon || c == ':'
		}
		if colon {
			s.add(end, ve, ConfidenceHigh)
		}
	case "bearer ":
		ve := spanWhile(t, end, 8192, func(b byte) bool {
			return isB64URL(b) || b == '.' || b == '~' || b == '+' || b == '/' || b == '=' || b == '!'
		})
		v := t[end:ve]
		if len(v) < 16 || symbolClasses(v) < 2 || entropy(v) < 3 || placeholder(v) {
			return
		}
		s.add(end, ve, ConfidenceHigh)
	}
}
