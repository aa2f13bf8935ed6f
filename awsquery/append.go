package awsquery

import (
	"bytes"
	"encoding/xml"
)

// Appender is implemented by results that write their own XML elements
// (the children of <OpResult>), for the hottest responses: it avoids
// encoding/xml's reflection and buffers.
type Appender interface {
	AppendXML(buf *bytes.Buffer)
}

// Elem appends <name>escaped text</name>.
func Elem(buf *bytes.Buffer, name, text string) {
	buf.WriteByte('<')
	buf.WriteString(name)
	buf.WriteByte('>')
	EscapeText(buf, text)
	buf.WriteString("</")
	buf.WriteString(name)
	buf.WriteByte('>')
}

// EscapeText appends text escaped for XML character data.
func EscapeText(buf *bytes.Buffer, text string) {
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '<', '>', '&', '"', '\'', '\r', '\n', '\t':
			xml.EscapeText(buf, []byte(text[i:]))
			return
		default:
			buf.WriteByte(c)
		}
	}
}
