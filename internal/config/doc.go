package config

import (
	"fmt"
	"strings"
)

// MarkdownTable renders Vars() as the README's configuration table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Services | Description |\n|---|---|---|---|\n")
	for _, v := range Vars() {
		name := "`" + v.Name + "`"
		if len(v.Aliases) > 0 {
			name += " (alias " + "`" + strings.Join(v.Aliases, "`, `") + "`)"
		}
		def := "`" + v.Default + "`"
		switch {
		case v.Required:
			def = "**required**"
		case v.Default == "":
			def = "empty"
		}
		desc := v.Help
		if v.Secret {
			desc += " Secret: never logged; `" + v.Name + "_FILE` reads it from a file."
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, def, strings.Join(v.Services, ", "), strings.ReplaceAll(desc, "|", "\\|"))
	}
	return b.String()
}
