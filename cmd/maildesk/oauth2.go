package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/emersion/go-sasl"
)

// tokenSource returns a function that runs the configured command for a
// fresh OAuth2 access token.
func tokenSource(o OAuth2Config) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		out, err := exec.CommandContext(ctx, "/bin/sh", "-c", o.TokenCommand).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return "", fmt.Errorf("oauth2.token_command: %w: %s", err, strings.TrimSpace(string(ee.Stderr)))
			}
			return "", fmt.Errorf("oauth2.token_command: %w", err)
		}
		token := strings.TrimSpace(string(out))
		if token == "" {
			return "", errors.New("oauth2.token_command printed no token")
		}
		return token, nil
	}
}

// imapOAuth2 authenticates IMAP with XOAUTH2, the mechanism Gmail and
// Microsoft 365 both offer; go-sasl has no client for it.
func imapOAuth2(user string, o OAuth2Config) func(ctx context.Context) (sasl.Client, error) {
	source := tokenSource(o)
	return func(ctx context.Context) (sasl.Client, error) {
		token, err := source(ctx)
		if err != nil {
			return nil, err
		}
		return &xoauth2{user: user, token: token}, nil
	}
}

type xoauth2 struct{ user, token string }

func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a JSON status) with an empty
// response, after which the server fails the command with its reason.
func (x *xoauth2) Next([]byte) ([]byte, error) { return []byte{}, nil }
