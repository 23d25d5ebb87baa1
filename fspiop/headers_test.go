package fspiop

import (
	"testing"
)

func TestContentType(t *testing.T) {
	for _, tt := range []struct {
		h      string
		want   Version
		code   string
		status int
	}{
		{"application/vnd.interoperability.transfers+json;version=1.1", Version{1, 1}, "", 0},
		{"application/vnd.interoperability.transfers+json; version=1.0", Version{1, 0}, "", 0},
		{"application/vnd.interoperability.transfers+json;version=1.1;charset=utf-8", Version{1, 1}, "", 0},
		{"", Version{}, "3102", 400},
		{"application/json", Version{}, "3101", 400},
		{"application/vnd.interoperability.quotes+json;version=1.1", Version{}, "3101", 400},
		{"application/vnd.interoperability.transfers+json", Version{}, "3102", 400},
		{"application/vnd.interoperability.transfers+json;version=2.0", Version{}, "3001", 406},
		{"application/vnd.interoperability.transfers+json;version=1.2", Version{}, "3001", 406},
		{"application/vnd.interoperability.transfers+json;version=1", Version{}, "3101", 400},
		{"application/vnd.interoperability.transfers+json;version=x.y", Version{}, "3101", 400},
		{"a;;;", Version{}, "3101", 400},
	} {
		got, e := contentType(tt.h, "transfers")
		if tt.code == "" {
			if e != nil || got != tt.want {
				t.Errorf("contentType(%q) = %v, %v; want %v", tt.h, got, e, tt.want)
			}
			continue
		}
		if e == nil || e.Code != tt.code || e.Status != tt.status {
			t.Errorf("contentType(%q) error %v, want code %s status %d", tt.h, e, tt.code, tt.status)
		}
	}
}

func TestAccept(t *testing.T) {
	const mt = "application/vnd.interoperability.quotes+json"
	for _, tt := range []struct {
		h    string
		want Version
		code string
	}{
		{mt + ";version=1.1", Version{1, 1}, ""},
		{mt + ";version=1", Version{1, 1}, ""},
		{mt + ";version=1.0", Version{1, 0}, ""},
		{mt, Version{1, 1}, ""},
		{mt + ";version=2, " + mt + ";version=1.0", Version{1, 0}, ""},
		{mt + ";version=1," + "\n" + mt, Version{1, 1}, ""},
		{mt + ";version=2", Version{}, "3001"},
		{mt + ";version=1.7", Version{}, "3001"},
		{"", Version{}, "3102"},
		{"application/json", Version{}, "3101"},
	} {
		got, e := accept(tt.h, "quotes")
		if tt.code == "" {
			if e != nil || got != tt.want {
				t.Errorf("accept(%q) = %v, %v; want %v", tt.h, got, e, tt.want)
			}
			continue
		}
		if e == nil || e.Code != tt.code {
			t.Errorf("accept(%q) error %v, want code %s", tt.h, e, tt.code)
		}
	}
}

func TestUnacceptableListsVersions(t *testing.T) {
	e := unacceptable("no")
	if e.Status != 406 || e.Code != "3001" {
		t.Fatalf("unacceptable: %+v", e)
	}
	got := string(e.Body())
	want := `{"errorInformation":{"errorCode":"3001","errorDescription":"Unacceptable version requested - no","extensionList":{"extension":[{"key":"1","value":"0"},{"key":"1","value":"1"}]}}}`
	if got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestDescriptionIsBounded(t *testing.T) {
	e := &Error{Code: "3100", Detail: string(make([]byte, 300)) + "é"}
	if d := e.Description(); len(d) > maxDescription {
		t.Errorf("description of %d bytes", len(d))
	}
	e = &Error{Code: "3100", Detail: "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"}
	d := e.Description()
	if len(d) > maxDescription || d[len(d)-1] == 0xc3 {
		t.Errorf("description %q cut inside a character", d)
	}
}

func TestCorrelationID(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"b51ec534-ee48-4575-b6a9-ead2955b8069", true},
		{"b51ec534-ee48-1575-86a9-ead2955b8069", true},
		{"B51EC534-EE48-4575-B6A9-EAD2955B8069", false},
		{"b51ec534-ee48-6575-b6a9-ead2955b8069", false},
		{"b51ec534-ee48-4575-c6a9-ead2955b8069", false},
		{"b51ec534ee484575b6a9ead2955b8069", false},
		{"", false},
	} {
		_, e := correlationID("id", tt.s)
		if (e == nil) != tt.ok {
			t.Errorf("correlationID(%q) error %v, want ok=%v", tt.s, e, tt.ok)
		}
	}
}

func TestDateTime(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"2016-05-24T08:38:08.699-04:00", true},
		{"2016-05-24T08:38:08.699Z", true},
		{"2016-05-24T08:38:08Z", false},
		{"2016-05-24T08:38:08.69Z", false},
		{"2016-05-24 08:38:08.699Z", false},
		{"2016-02-30T08:38:08.699Z", false},
	} {
		_, e := dateTime("t", tt.s)
		if (e == nil) != tt.ok {
			t.Errorf("dateTime(%q) error %v, want ok=%v", tt.s, e, tt.ok)
		}
	}
}

func TestAbortErrorRoundTrip(t *testing.T) {
	e := &Error{Code: "5105", Detail: "customer declined"}
	reason := abortReason(e)
	got := abortErrorFromReason(reason)
	if got.Code != "5105" || got.Description() != e.Description() {
		t.Errorf("abort reason %q came back as %s %q, want %s %q", reason, got.Code, got.Description(), e.Code, e.Description())
	}
}
