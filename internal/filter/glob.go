package filter

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"
)

// compileGlob translates a shell glob (Python fnmatch, the original's
// "pattern") into an anchored regexp: "*" matches any run of characters
// including "/", "?" one character, "[abc]", "[a-z]" and "[!abc]" a
// character class. Matching is case-sensitive. An unclosed "[" is an error
// (fnmatch would read it as a literal; here it is almost always a typo).
func compileGlob(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(p); {
		c := p[i]
		i++
		switch c {
		case '*':
			for i < len(p) && p[i] == '*' {
				i++
			}
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i
			if j < len(p) && p[j] == '!' {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				return nil, errors.New("unclosed '[' in glob")
			}
			class := p[i:j]
			i = j + 1
			b.WriteByte('[')
			if strings.HasPrefix(class, "!") {
				b.WriteByte('^')
				class = class[1:]
			}
			for k := 0; k < len(class); k++ {
				switch ch := class[k]; ch {
				case '\\', '[', ']', '^':
					b.WriteByte('\\')
					b.WriteByte(ch)
				case '-':
					if k == 0 || k == len(class)-1 {
						b.WriteString(`\-`)
					} else {
						b.WriteByte('-')
					}
				default:
					b.WriteByte(ch)
				}
			}
			b.WriteByte(']')
		default:
			if c < utf8.RuneSelf {
				b.WriteString(regexp.QuoteMeta(string(rune(c))))
			} else {
				b.WriteByte(c) // part of a multi-byte character, copied as is
			}
		}
	}
	b.WriteString(`)$`)
	return regexp.Compile(b.String())
}
