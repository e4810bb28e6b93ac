package engine

// Byte classes used by the hand-written parsers.
const (
	cDigit = 1 << iota
	cUpper
	cLower
	cHexLetter
	cB64Extra    // + /
	cURLSafe     // - _
	cIdentExtra  // _ - .
	cEmailLocal  // . _ % + -
	cBase32Digit // 2-7
)

var ctype = func() (t [256]uint16) {
	for b := '0'; b <= '9'; b++ {
		t[b] |= cDigit
	}
	for b := 'A'; b <= 'Z'; b++ {
		t[b] |= cUpper
	}
	for b := 'a'; b <= 'z'; b++ {
		t[b] |= cLower
	}
	for _, b := range "abcdefABCDEF" {
		t[b] |= cHexLetter
	}
	t['+'] |= cB64Extra
	t['/'] |= cB64Extra
	t['-'] |= cURLSafe
	t['_'] |= cURLSafe
	for _, b := range "_-." {
		t[b] |= cIdentExtra
	}
	for _, b := range "._%+-" {
		t[b] |= cEmailLocal
	}
	for b := '2'; b <= '7'; b++ {
		t[b] |= cBase32Digit
	}
	return t
}()

func isDigit(b byte) bool  { return ctype[b]&cDigit != 0 }
func isUpper(b byte) bool  { return ctype[b]&cUpper != 0 }
func isLower(b byte) bool  { return ctype[b]&cLower != 0 }
func isAlpha(b byte) bool  { return ctype[b]&(cUpper|cLower) != 0 }
func isAlnum(b byte) bool  { return ctype[b]&(cDigit|cUpper|cLower) != 0 }
func isHex(b byte) bool    { return ctype[b]&(cDigit|cHexLetter) != 0 }
func isB64(b byte) bool    { return ctype[b]&(cDigit|cUpper|cLower|cB64Extra) != 0 }
func isB64URL(b byte) bool { return ctype[b]&(cDigit|cUpper|cLower|cURLSafe) != 0 }
func isWord(b byte) bool   { return isAlnum(b) || b == '_' }
func isIdent(b byte) bool  { return ctype[b]&(cDigit|cUpper|cLower|cIdentExtra) != 0 }
func isB32Up(b byte) bool  { return ctype[b]&(cUpper|cBase32Digit) != 0 }
func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

// spanWhile returns the end of the run of bytes from i that satisfy ok,
// reading at most max bytes.
func spanWhile(text string, i, max int, ok func(byte) bool) int {
	end := i + max
	if end > len(text) {
		end = len(text)
	}
	for i < end && ok(text[i]) {
		i++
	}
	return i
}

// backWhile returns the start of the run of bytes ending at i (exclusive)
// that satisfy ok, reading at most max bytes.
func backWhile(text string, i, max int, ok func(byte) bool) int {
	stop := i - max
	if stop < 0 {
		stop = 0
	}
	for i > stop && ok(text[i-1]) {
		i--
	}
	return i
}

// at returns text[i], or 0 outside the text.
func at(text string, i int) byte {
	if i < 0 || i >= len(text) {
		return 0
	}
	return text[i]
}

// hasPrefixFold reports whether text[i:] starts with the lower-case ASCII
// prefix p, ignoring case.
func hasPrefixFold(text string, i int, p string) bool {
	if i < 0 || len(text)-i < len(p) {
		return false
	}
	for j := 0; j < len(p); j++ {
		if lower(text[i+j]) != p[j] {
			return false
		}
	}
	return true
}

// containsFold reports whether the lower-case ASCII word w occurs in
// text[from:to], ignoring case.
func containsFold(text string, from, to int, w string) bool {
	if from < 0 {
		from = 0
	}
	if to > len(text) {
		to = len(text)
	}
	for i := from; i+len(w) <= to; i++ {
		if lower(text[i]) == w[0] && hasPrefixFold(text, i, w) {
			return true
		}
	}
	return false
}

// lineStart returns the start of the line holding i, looking back at most max bytes.
func lineStart(text string, i, max int) int {
	return backWhile(text, i, max, func(b byte) bool { return b != '\n' })
}
