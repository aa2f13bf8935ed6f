// Package sqlkit holds the encodings the SQL stores share, so that SQLite
// and PostgreSQL write the same markers, tags and times.
package sqlkit

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"iamd"
)

// MS is t in Unix milliseconds, the stored form of every time.
func MS(t time.Time) int64 { return t.UnixMilli() }

// FromMS is the inverse of MS, in UTC.
func FromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// OptMS is MS for a moment that may not have come (the zero time, stored
// as 0): when a key was disabled, a password last used.
func OptMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return MS(t)
}

// FromOptMS is the inverse of OptMS.
func FromOptMS(v int64) time.Time {
	if v <= 0 {
		return time.Time{}
	}
	return FromMS(v)
}

// EncodeMarker makes an opaque marker from the last key of a page.
func EncodeMarker(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// DecodeMarker reverses EncodeMarker; Invalid for anything else.
func DecodeMarker(m string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || len(b) == 0 {
		return "", iamd.BadMarker()
	}
	return string(b), nil
}

// TimeIDMarker makes a marker from a (time, id) position.
func TimeIDMarker(t time.Time, id string) string {
	return EncodeMarker(strconv.FormatInt(MS(t), 10) + "/" + id)
}

// DecodeTimeIDMarker reverses TimeIDMarker.
func DecodeTimeIDMarker(m string) (int64, string, error) {
	s, err := DecodeMarker(m)
	if err != nil {
		return 0, "", err
	}
	at, id, ok := strings.Cut(s, "/")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil {
		return 0, "", iamd.BadMarker()
	}
	return n, id, nil
}

// TagsJSON is the stored form of tags.
func TagsJSON(tags []iamd.Tag) string {
	if len(tags) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(tags) // string pairs always marshal
	return string(b)
}

// ParseTags reverses TagsJSON.
func ParseTags(s string) ([]iamd.Tag, error) {
	if s == "[]" {
		return nil, nil
	}
	var tags []iamd.Tag
	err := json.Unmarshal([]byte(s), &tags)
	return tags, err
}
