package web

// This file is a placeholder for the UI; the UI files replace it.

import "net/http"

const preSessionCookie = "opsdeck_pre"

type templates struct{}

func parseTemplates() (*templates, error) { return &templates{}, nil }

type loginForm struct {
	Next     string
	Username string
	Error    string
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, f loginForm) {
	http.Error(w, "sign in", status)
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	http.Error(w, msg, status)
}

func (s *Server) uiRoutes() []Route { return nil }
