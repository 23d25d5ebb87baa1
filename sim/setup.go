package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Onboarding is what Setup creates on the hub for one FSP.
type Onboarding struct {
	FSP          string // participant id
	Name         string // participant name; "" means the id
	Currency     string // currency to enable
	NDC          string // net debit cap in Currency; "" leaves it as it is
	Funds        string // collateral to deposit (funds in); "" or "0" deposits none
	CallbackBase string // base URL of the FSP's FSPIOP server; "" registers none
	AdminToken   string // the admin API's bearer token, when the hub requires one
}

// ErrSetup is wrapped by the errors Setup returns when the admin API
// refuses a step.
var ErrSetup = errors.New("sim: setup refused")

// Setup onboards an FSP through the hub's operator API at adminURL (e.g.
// "http://127.0.0.1:7070"): it creates the participant, enables the
// currency, sets the NDC, deposits the funds and registers the callback
// base with PUT /admin/v1/participants/{id}/endpoints. Every step is safe
// to repeat: an existing participant is fine, and the funds in has an id
// derived from the participant, currency and amount, so repeating Setup
// with the same Funds deposits them once (another amount deposits again).
func Setup(ctx context.Context, adminURL string, p Onboarding) error {
	if !validFSPID(p.FSP) {
		return fmt.Errorf("%w: participant id %q", ErrConfig, p.FSP)
	}
	if p.Name == "" {
		p.Name = p.FSP
	}
	base := strings.TrimRight(adminURL, "/") + "/admin/v1/participants"
	pid := url.PathEscape(p.FSP)
	steps := []struct {
		what, method, path string
		body               any
		skip               bool
		exists             string // an error code that means "already done"
	}{
		{"create participant", http.MethodPost, base, map[string]string{"id": p.FSP, "name": p.Name}, false, "PARTICIPANT_EXISTS"},
		{"enable currency", http.MethodPost, base + "/" + pid + "/currencies", map[string]string{"currency": p.Currency}, p.Currency == "", ""},
		{"set NDC", http.MethodPut, base + "/" + pid + "/currencies/" + url.PathEscape(p.Currency) + "/ndc", map[string]string{"amount": p.NDC}, p.NDC == "", ""},
		{"funds in", http.MethodPost, base + "/" + pid + "/funds-in", map[string]string{"id": fundsInID(p.FSP, p.Currency, p.Funds), "currency": p.Currency, "amount": p.Funds}, p.Funds == "" || p.Funds == "0", ""},
		{"register endpoints", http.MethodPut, base + "/" + pid + "/endpoints", map[string]string{"base": p.CallbackBase}, p.CallbackBase == "", ""},
	}
	for _, s := range steps {
		if s.skip {
			continue
		}
		if err := adminCall(ctx, adminClient, p.AdminToken, s.method, s.path, s.body, s.exists); err != nil {
			return fmt.Errorf("sim: setup %s: %s: %w", p.FSP, s.what, err)
		}
	}
	return nil
}

// fundsInID derives a version 5 style UUID from the deposit's content.
func fundsInID(fsp, currency, amount string) string {
	h := sha256.Sum256([]byte("hutong sim funds in\x00" + fsp + "\x00" + currency + "\x00" + amount))
	var u [16]byte
	copy(u[:], h[:16])
	s := formatUUID(u)
	return s[:14] + "5" + s[15:] // version 5: derived from a name
}

// adminClient sends Setup's requests: the admin API is not on the hot path
// and speaks net/http.
var adminClient = &http.Client{Transport: &http.Transport{
	DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	MaxIdleConnsPerHost:   4,
	IdleConnTimeout:       90 * time.Second,
	ResponseHeaderTimeout: 30 * time.Second,
}}

// adminCall sends one admin API request and accepts any 2xx, or the error
// code exists.
func adminCall(ctx context.Context, client *http.Client, token, method, u string, body any, exists string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
		if exists != "" && e.Error.Code == exists {
			return nil
		}
		return fmt.Errorf("%w: %s %s: HTTP %d %s: %s", ErrSetup, method, u, resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	return fmt.Errorf("%w: %s %s: HTTP %d: %.200s", ErrSetup, method, u, resp.StatusCode, strings.TrimSpace(string(data)))
}
