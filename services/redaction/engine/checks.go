package engine

import "math"

// luhn reports whether the digits of s (other bytes ignored) pass the Luhn check.
func luhn(s string) bool {
	sum, n := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		b := s[i]
		if !isDigit(b) {
			continue
		}
		d := int(b - '0')
		if n%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n > 0 && sum%10 == 0
}

// ibanMod97 reports whether an IBAN (letters and digits only, no spaces)
// has a valid ISO 13616 check: move the first four characters to the end,
// letters to 10..35, and the number mod 97 must be 1.
func ibanMod97(iban string) bool {
	if len(iban) < 5 {
		return false
	}
	rem := 0
	feed := func(b byte) bool {
		switch {
		case isDigit(b):
			rem = (rem*10 + int(b-'0')) % 97
		case isUpper(b):
			v := int(b-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return false
		}
		return true
	}
	for i := 4; i < len(iban); i++ {
		if !feed(iban[i]) {
			return false
		}
	}
	for i := 0; i < 4; i++ {
		if !feed(iban[i]) {
			return false
		}
	}
	return rem == 1
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if len(s) == 0 {
		return 0
	}
	if len(s) < 256 {
		var c8 [256]uint8
		for i := 0; i < len(s); i++ {
			c8[s[i]]++
		}
		sum := 0.0
		for i := 0; i < len(s); i++ {
			if c := c8[s[i]]; c > 0 {
				sum += clog2c[c]
				c8[s[i]] = 0
			}
		}
		n := float64(len(s))
		return math.Log2(n) - sum/n
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	// H = log2(n) - (1/n) * sum(c * log2(c)), with c*log2(c) from a table.
	sum := 0.0
	for _, c := range counts {
		if c > 1 {
			if c < len(clog2c) {
				sum += clog2c[c]
			} else {
				sum += float64(c) * math.Log2(float64(c))
			}
		}
	}
	n := float64(len(s))
	return math.Log2(n) - sum/n
}

// clog2c[c] is c*log2(c).
var clog2c = func() (t [1024]float64) {
	for c := 1; c < len(t); c++ {
		t[c] = float64(c) * math.Log2(float64(c))
	}
	return t
}()

// charClasses counts how many of lower, upper, digit and other bytes s has.
func charClasses(s string) int {
	var lo, up, di, ot bool
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case isLower(b):
			lo = true
		case isUpper(b):
			up = true
		case isDigit(b):
			di = true
		default:
			ot = true
		}
	}
	n := 0
	for _, v := range []bool{lo, up, di, ot} {
		if v {
			n++
		}
	}
	return n
}

// validSSN applies the SSA's rules: area not 000, 666 or 900-999; group not
// 00; serial not 0000; and not one of the numbers known from advertising.
func validSSN(area, group, serial int) bool {
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return false
	}
	switch {
	case area == 78 && group == 5 && serial == 1120, // Woolworth wallet card
		area == 219 && group == 9 && serial == 9999: // Social Security Board pamphlet
		return false
	}
	return true
}

// atoi parses a short run of ASCII digits; -1 when s holds anything else.
func atoi(s string) int {
	if len(s) == 0 || len(s) > 9 {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}
