// Package config reads every service's settings from the environment.
//
// One table (Vars) lists every variable the product reads, with its default,
// meaning and the services that read it; the README's configuration table and
// default.env are checked against it by tests. Values come from the real
// environment first, then from an optional .env file (godotenv), then from the
// default. Secrets may also be given as NAME_FILE (Docker secrets).
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/joho/godotenv"
)

// Source resolves variable values: real environment first, then a dotenv file.
type Source struct {
	getenv func(string) string
	file   map[string]string
}

// NewSource builds a Source over getenv. When dotenvPath names an existing file
// it is read with godotenv and consulted for variables the environment lacks;
// a missing file is not an error.
func NewSource(getenv func(string) string, dotenvPath string) (*Source, error) {
	s := &Source{getenv: getenv, file: map[string]string{}}
	if dotenvPath == "" {
		return s, nil
	}
	m, err := godotenv.Read(dotenvPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s, nil
		}
		return nil, fmt.Errorf("read %s: %w", dotenvPath, err)
	}
	s.file = m
	return s, nil
}

// MapSource is a Source over a fixed map; tests use it.
func MapSource(env map[string]string) *Source {
	return &Source{getenv: func(k string) string { return env[k] }, file: map[string]string{}}
}

// lookup returns the raw value of one name and whether it was set (non-empty).
func (s *Source) lookup(name string) (string, bool) {
	if v := s.getenv(name); v != "" {
		return v, true
	}
	if v, ok := s.file[name]; ok && v != "" {
		return v, true
	}
	return "", false
}

// resolve finds a variable by its name, then its aliases, then (for secrets)
// NAME_FILE. It returns the value, the name it was found under, and whether
// it was found at all.
func (s *Source) resolve(v Var) (string, string, error) {
	for _, n := range append([]string{v.Name}, v.Aliases...) {
		if val, ok := s.lookup(n); ok {
			return val, n, nil
		}
	}
	if v.Secret {
		for _, n := range append([]string{v.Name}, v.Aliases...) {
			path, ok := s.lookup(n + "_FILE")
			if !ok {
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return "", n + "_FILE", fmt.Errorf("%s_FILE: %w", n, err)
			}
			return strings.TrimRight(string(b), "\r\n"), n + "_FILE", nil
		}
	}
	return "", "", nil
}
