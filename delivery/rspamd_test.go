package delivery

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func rspamdServer(t *testing.T, action string, score float64, seen *http.Request) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/checkv2":
			if seen != nil {
				*seen = *r.Clone(context.Background())
			}
			if !strings.Contains(string(body), "Subject: hi") {
				http.Error(w, "no message", 400)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{
				"is_skipped": false, "score": score, "required_score": 15.0, "action": action,
				"symbols": map[string]any{"GTUBE": map[string]any{"name": "GTUBE", "score": score}, "R_SPF_ALLOW": map[string]any{"name": "R_SPF_ALLOW", "score": -0.2}},
			})
		case "/learnspam", "/learnham":
			if r.Header.Get("Password") != "pw" {
				w.WriteHeader(403)
				return
			}
			if r.URL.Path == "/learnham" {
				w.WriteHeader(http.StatusAlreadyReported)
				w.Write([]byte(`{"error":"already learned"}`))
				return
			}
			w.Write([]byte(`{"success":true}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRspamdActions(t *testing.T) {
	msg := "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
	env := &Envelope{ID: "ABCDEFGH", From: "a@example.org", To: []string{"u@example.com", "v@example.com"}, Helo: "mx.example.org", Remote: netip.MustParseAddrPort("192.0.2.7:4000")}
	for _, tc := range []struct {
		action string
		score  float64
		junk   float64
		want   Action
		code   int
	}{
		{"no action", 0.5, 0, Accept, 0},
		{"add header", 7, 0, Quarantine, 0},
		{"rewrite subject", 9, 0, Quarantine, 0},
		{"reject", 20, 0, Reject, 550},
		{"soft reject", 3, 0, TempFail, 451},
		{"greylist", 4, 0, TempFail, 451},
		{"no action", 5.5, 5, Quarantine, 0},
	} {
		var seen http.Request
		srv := rspamdServer(t, tc.action, tc.score, &seen)
		r := &Rspamd{URL: srv.URL, JunkScore: tc.junk}
		v, err := r.Check(context.Background(), env, io.NewSectionReader(strings.NewReader(msg), 0, int64(len(msg))))
		if err != nil {
			t.Fatalf("%s: %v", tc.action, err)
		}
		if v.Action != tc.want || v.Code != tc.code {
			t.Errorf("%s/%v: got %v %d, want %v %d", tc.action, tc.score, v.Action, v.Code, tc.want, tc.code)
		}
		if len(v.AddHeaders) != 2 || v.AddHeaders[0].Key != "X-Spam-Status" || v.AddHeaders[1].Key != "X-Spam-Score" {
			t.Errorf("%s: headers %v", tc.action, v.AddHeaders)
		}
		if !strings.Contains(v.AddHeaders[0].Value, "tests=GTUBE,R_SPF_ALLOW") {
			t.Errorf("status %q", v.AddHeaders[0].Value)
		}
		if got := seen.Header.Values("Rcpt"); len(got) != 2 || seen.Header.Get("From") != "a@example.org" || seen.Header.Get("IP") != "192.0.2.7" || seen.Header.Get("Helo") != "mx.example.org" || seen.Header.Get("Queue-Id") != "ABCDEFGH" {
			t.Errorf("request headers %v", seen.Header)
		}
	}
}

func TestRspamdDownAndBadReply(t *testing.T) {
	msg := "Subject: hi\r\n\r\nx\r\n"
	sr := io.NewSectionReader(strings.NewReader(msg), 0, int64(len(msg)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("not json")) }))
	if _, err := (&Rspamd{URL: srv.URL}).Check(context.Background(), &Envelope{}, sr); err == nil {
		t.Error("bad JSON: no error")
	}
	addr := srv.Listener.Addr().String()
	srv.Close()
	if _, err := (&Rspamd{URL: addr}).Check(context.Background(), &Envelope{}, sr); err == nil {
		t.Error("down: no error")
	}
	// Through a fail-open chain the message is tagged, fail-closed 451.
	chain := &FilterChain{Filters: []ChainFilter{{Name: "rspamd", Filter: &Rspamd{URL: addr}, FailOpen: true}}}
	res, err := chain.Run(context.Background(), Inbound, &Envelope{}, sr)
	if err != nil || len(res.AddHeaders) != 1 || res.AddHeaders[0].Key != SkippedHeader {
		t.Errorf("fail-open: %v %v", res, err)
	}
	chain.Filters[0].FailOpen = false
	if _, err := chain.Run(context.Background(), Inbound, &Envelope{}, sr); err == nil || AsError(err).Code != 451 {
		t.Errorf("fail-closed: %v", err)
	}
}

func TestRspamdLearn(t *testing.T) {
	srv := rspamdServer(t, "no action", 0, nil)
	msg := "Subject: hi\r\n\r\nx\r\n"
	sr := io.NewSectionReader(strings.NewReader(msg), 0, int64(len(msg)))
	r := &Rspamd{URL: "http://127.0.0.1:1", ControllerURL: srv.URL, Password: "pw"}
	if err := r.Learn(context.Background(), sr, true); err != nil {
		t.Errorf("learnspam: %v", err)
	}
	if err := r.Learn(context.Background(), sr, false); err != nil {
		t.Errorf("learnham (208): %v", err)
	}
	r.Password = "bad"
	if err := r.Learn(context.Background(), sr, true); err == nil {
		t.Error("bad password: no error")
	}
}
