package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"
)

// tokenSource returns a function giving a fresh OAuth2 access token: from
// the configured command, run each time, or from the refresh token.
func tokenSource(o OAuth2Config) func(ctx context.Context) (string, error) {
	if o.TokenCommand == "" {
		return refreshTokenSource(o)
	}
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

// refreshTokenSource trades the refresh token for access tokens at the
// provider, reusing one until it is about to expire. When the provider
// sends a new refresh token (Microsoft rotates them), it is written back to
// refresh_token_file so that the next start does not use a stale one.
func refreshTokenSource(o OAuth2Config) func(ctx context.Context) (string, error) {
	var (
		mu     sync.Mutex
		source oauth2.TokenSource
		last   string
	)
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if source == nil {
			refresh, err := secret("oauth2.refresh_token", o.RefreshToken, o.RefreshTokenFile, "")
			if err != nil {
				return "", err
			}
			clientSecret, err := secret("oauth2.client_secret", o.ClientSecret, o.ClientSecretFile, "")
			if err != nil {
				return "", err
			}
			conf := &oauth2.Config{ClientID: o.ClientID, ClientSecret: clientSecret, Scopes: o.Scopes,
				Endpoint: oauth2.Endpoint{TokenURL: o.TokenURL}}
			// The source outlives this call: it must not carry ctx's deadline.
			source = oauth2.ReuseTokenSource(nil, conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refresh}))
			last = refresh
		}
		tok, err := source.Token()
		if err != nil {
			return "", fmt.Errorf("oauth2 refresh at %s: %w", o.TokenURL, err)
		}
		if tok.RefreshToken != "" && tok.RefreshToken != last && o.RefreshTokenFile != "" {
			if err := writeSecretFile(o.RefreshTokenFile, tok.RefreshToken); err != nil {
				return "", fmt.Errorf("oauth2.refresh_token_file: keep the new refresh token: %w", err)
			}
			last = tok.RefreshToken
		}
		return tok.AccessToken, nil
	}
}

// writeSecretFile replaces path's content atomically, readable by its owner only.
func writeSecretFile(path, value string) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(value+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// imapOAuth2 authenticates IMAP with XOAUTH2, the mechanism Gmail and
// Microsoft 365 both offer (go-sasl has no client for it), or OAUTHBEARER.
func imapOAuth2(user, host string, port int, o OAuth2Config) func(ctx context.Context) (sasl.Client, error) {
	source := tokenSource(o)
	return func(ctx context.Context) (sasl.Client, error) {
		token, err := source(ctx)
		if err != nil {
			return nil, err
		}
		if o.oauthBearer() {
			return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token, Host: host, Port: port}), nil
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
