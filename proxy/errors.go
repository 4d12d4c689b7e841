package proxy

import (
	"strconv"

	"lbd/config"
)

// Built-in error responses, in the spirit of HAProxy's: a short HTML page,
// never cached, and the connection is closed after them. A frontend's
// error_file blocks replace them by status.

var errorText = map[int][2]string{
	200: {"OK", "Service ready."},
	400: {"Bad Request", "Your browser sent an invalid request."},
	401: {"Unauthorized", "You need a valid user and password to access this content."},
	403: {"Forbidden", "Request forbidden by administrative rules."},
	404: {"Not Found", "The resource could not be found."},
	405: {"Method Not Allowed", "A request was made of a resource using a request method not supported by that resource."},
	407: {"Proxy Authentication Required", "You need a valid user and password to access this content."},
	408: {"Request Time-out", "Your browser didn't send a complete request in time."},
	410: {"Gone", "The resource is no longer available and will not be available again."},
	413: {"Payload Too Large", "The request entity exceeds the maximum allowed."},
	414: {"URI Too Long", "The request line is too long."},
	425: {"Too Early", "Your browser sent early data."},
	429: {"Too Many Requests", "You have sent too many requests in a given amount of time."},
	431: {"Request Header Fields Too Large", "The request header fields are too large."},
	500: {"Internal Server Error", "An internal server error occurred."},
	501: {"Not Implemented", "The request method is not supported."},
	502: {"Bad Gateway", "The server returned an invalid or incomplete response."},
	503: {"Service Unavailable", "No server is available to handle this request."},
	504: {"Gateway Time-out", "The server didn't respond in time."},
	505: {"HTTP Version Not Supported", "The HTTP version is not supported."},
}

// builtinErrors holds the rendered responses, built once.
var builtinErrors = func() map[int][]byte {
	m := make(map[int][]byte, len(errorText))
	for code, t := range errorText {
		m[code] = renderError(code, t[0], t[1])
	}
	return m
}()

func renderError(code int, reason, text string) []byte {
	c := strconv.Itoa(code)
	body := "<html><body><h1>" + c + " " + reason + "</h1>\n" + text + "\n</body></html>\n"
	return []byte("HTTP/1.1 " + c + " " + reason + "\r\n" +
		"content-length: " + strconv.Itoa(len(body)) + "\r\n" +
		"cache-control: no-cache\r\n" +
		"content-type: text/html\r\n" +
		"connection: close\r\n\r\n" + body)
}

// errorPages is the set of responses of one frontend.
type errorPages map[int][]byte

func newErrorPages(files []*config.ErrorFile) errorPages {
	if len(files) == 0 {
		return nil
	}
	m := make(errorPages, len(files))
	for _, f := range files {
		if len(f.Response) > 0 {
			m[f.Status] = f.Response
		}
	}
	return m
}

// page returns the response for status.
func (p errorPages) page(status int) []byte {
	if b, ok := p[status]; ok {
		return b
	}
	if b, ok := builtinErrors[status]; ok {
		return b
	}
	return builtinErrors[500]
}
