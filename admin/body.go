package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"reflect"
	"strings"
)

// maxBody bounds a request body: the API's bodies are one small object.
const maxBody = 1 << 16

// errBodyTooLarge is answered with 413.
var errBodyTooLarge = fmt.Errorf("%w: request body over %d bytes", ErrBadRequest, maxBody)

// decodeBody reads one small JSON object into v, a pointer to a struct
// with json tags. encoding/json alone would accept what a client never
// meant: keys in any letter case, data after the object (the first of two
// objects wins), so field names must match exactly and nothing may follow.
// Messages say what was expected (shape), not which Go type failed.
func decodeBody(r *http.Request, v any, shape string) error {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return fmt.Errorf("%w: reading the request body: %v", ErrBadRequest, err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return fmt.Errorf("%w: the request body is empty; expected %s", ErrBadRequest, shape)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return fmt.Errorf("%w: the request body is not a JSON object; expected %s", ErrBadRequest, shape)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: more data after the JSON object; expected %s", ErrBadRequest, shape)
	}
	known := jsonNames(v)
	for k := range fields {
		if _, ok := known[k]; !ok {
			return fmt.Errorf("%w: unknown field %q; expected %s", ErrBadRequest, k, shape)
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%w: %s: %s is not %s; expected %s", ErrBadRequest, te.Field, te.Value, kindName(te.Type), shape)
		}
		return fmt.Errorf("%w: %v; expected %s", ErrBadRequest, err, shape)
	}
	return nil
}

// jsonNames are the json names of the fields of the struct v points to.
func jsonNames(v any) map[string]struct{} {
	t := reflect.TypeOf(v).Elem()
	names := make(map[string]struct{}, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[name] = struct{}{}
	}
	return names
}

// kindName says what a JSON value must be to fill a field of type t.
func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	}
	return "a " + t.Kind().String()
}

// bodyStatus is the status of a decodeBody error.
func bodyStatus(err error) int {
	if errors.Is(err, errBodyTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// cleanPath reports whether p has no empty, "." or ".." segment (a final
// "/" aside): the form the API's routes are written in.
func cleanPath(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}
