package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"iamd"
	"iamd/audit"
	"iamd/awsquery"
	"iamd/signin"
)

// SignInPath is where the console posts a password sign-in.
const SignInPath = "/console/signin"

// maxSignInBody bounds what an anonymous caller may send the sign-in door.
const maxSignInBody = 4 << 10

type signInAnswer struct {
	Credentials *struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
		SessionToken    string `json:"sessionToken"`
		Expiration      string `json:"expiration"`
	} `json:"credentials,omitempty"`
	MFARequired         bool   `json:"mfaRequired,omitempty"`
	NewPasswordRequired bool   `json:"newPasswordRequired,omitempty"`
	Message             string `json:"message,omitempty"`
}

// serveSignIn is the console's password sign-in: JSON in, JSON out, every
// attempt in the audit log with the user name it named (never a password
// or code).
func (s *Server) serveSignIn(w http.ResponseWriter, r *http.Request, id string, e *logEntry) {
	e.service, e.action = "signin", "ConsoleLogin"
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Amzn-RequestId", id)
	answer := func(status int, a signInAnswer) {
		e.status = status
		s.auditSignIn(id, e)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(a)
	}
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "" {
		answer(http.StatusMethodNotAllowed, signInAnswer{Message: "Sign in with POST, JSON and no Authorization."})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSignInBody))
	var in signin.Input
	if err != nil || json.Unmarshal(body, &in) != nil {
		e.code = "InvalidInput"
		answer(http.StatusBadRequest, signInAnswer{Message: "The sign-in request is not JSON of account, user and password."})
		return
	}
	e.identity = clip(in.User)
	out, err := s.signIn.SignIn(r.Context(), in, e.clientIP)
	switch {
	case errors.Is(err, signin.ErrThrottle):
		e.code = "Throttling"
		h.Set("Retry-After", "20")
		answer(http.StatusTooManyRequests, signInAnswer{Message: iamd.MessageOf(err)})
	case iamd.KindOf(err) == iamd.AccessDenied:
		e.code = "AccessDenied"
		answer(http.StatusUnauthorized, signInAnswer{Message: iamd.MessageOf(err)})
	case iamd.KindOf(err) == iamd.PasswordPolicyViolation:
		e.code = "PasswordPolicyViolation"
		answer(http.StatusBadRequest, signInAnswer{Message: iamd.MessageOf(err), NewPasswordRequired: true})
	case err != nil:
		e.code, e.err = "ServiceFailure", err
		answer(http.StatusInternalServerError, signInAnswer{Message: "The sign-in failed; try again."})
	case out.Credentials != nil:
		c := out.Credentials
		e.accessKeyID = c.AccessKeyID
		e.principal = "arn:aws:iam::" + s.svc.Account().ID + ":user/" + clip(in.User)
		a := signInAnswer{}
		a.Credentials = &struct {
			AccessKeyID     string `json:"accessKeyId"`
			SecretAccessKey string `json:"secretAccessKey"`
			SessionToken    string `json:"sessionToken"`
			Expiration      string `json:"expiration"`
		}{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, awsquery.Timestamp(c.Expiration)}
		answer(http.StatusOK, a)
	default:
		answer(http.StatusOK, signInAnswer{MFARequired: out.NeedMFA, NewPasswordRequired: out.NeedNewPassword})
	}
}

// auditSignIn records every attempt, allowed or refused.
func (s *Server) auditSignIn(id string, e *logEntry) {
	if s.auditLog == nil {
		return
	}
	e.audited = true
	outcome := audit.Allowed
	switch {
	case e.code == "AccessDenied" || e.code == "Throttling":
		outcome = audit.Denied
	case e.status >= 400:
		outcome = audit.Failed
	}
	rec := &audit.Record{RequestID: id, Door: audit.DoorConsole, Account: s.svc.Account().ID, Principal: e.principal, AccessKeyID: e.accessKeyID,
		SourceIP: addrText(e.clientIP), Service: e.service, Action: e.action, Identity: e.identity,
		Outcome: outcome, Status: e.status, ErrorCode: e.code}
	if err := s.auditLog.Write(rec, outcome == audit.Allowed); err != nil {
		s.log.Error("writing the audit log failed", "request_id", id, "err", err)
	}
}
