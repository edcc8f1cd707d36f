package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/config"
)

const cmdbHelp = `Subcommands:
  export  [--format json|csv]   prints every CI (JSON: and relationship) on stdout
  import  FILE                  applies a JSON export: CIs matched by type and name are
                                created or updated, missing relationships added; the whole
                                file is checked first, so a bad file changes nothing
Each takes --data, --db and --config like 'serve'. A running server keeps its
impact index in memory: restart it after an import, or import through the API.`

func cmdCMDB(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "cmdb", args, map[string]func(context.Context, *cli, []string) error{
		"export": cmdbExport, "import": cmdbImport,
	}, cmdbHelp)
}

// withCMDB opens the store and a started CMDB for one CLI command, acting
// as the operator at the command line.
func withCMDB(ctx context.Context, cfg config.Config, fn func(ctx context.Context, s *cmdb.Service) error) error {
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = auth.WithActor(ctx, auth.CLIActor(osUser()))
	s := cmdb.NewService(db, cmdb.Options{})
	if err := s.Start(ctx); err != nil {
		return err
	}
	return fn(ctx, s)
}

func cmdbExport(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "cmdb export", "cmdb export [--format json|csv] [flags]",
		"Prints the CMDB on stdout: JSON holds CIs and relationships (the input of 'cmdb import'); CSV holds one CI a row.")
	sf := addStoreFlags(fs)
	format := fs.String("format", "json", "`format`: json or csv")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	if *format != "json" && *format != "csv" {
		return fmt.Errorf("--format: %q is not json or csv", *format)
	}
	return withCMDB(ctx, cfg, func(ctx context.Context, s *cmdb.Service) error {
		d, err := s.Export(ctx)
		if err != nil {
			return err
		}
		if *format == "csv" {
			return writeCSV(c.stdout, d)
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	})
}

// writeCSV writes one CI a row; attributes as a JSON object. Cells that a
// spreadsheet would run as a formula get a leading apostrophe.
func writeCSV(w io.Writer, d cmdb.Dump) error {
	cw := csv.NewWriter(w)
	safe := func(s string) string {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			return "'" + s
		}
		return s
	}
	if err := cw.Write([]string{"type", "name", "environment", "status", "criticality", "owner_team", "tags", "description", "attributes"}); err != nil {
		return err
	}
	for _, ci := range d.CIs {
		attrs, _ := json.Marshal(ci.Attributes)
		row := []string{ci.Type, ci.Name, string(ci.Environment), string(ci.Status), string(ci.Criticality), ci.OwnerTeam, strings.Join(ci.Tags, ","), ci.Description, string(attrs)}
		for i := range row {
			row[i] = safe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func cmdbImport(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "cmdb import", "cmdb import FILE [flags]",
		"Applies a JSON file as written by 'cmdb export' (- reads stdin).")
	sf := addStoreFlags(fs)
	var file string
	if len(args) > 0 && (args[0] == "-" || !strings.HasPrefix(args[0], "-")) {
		file, args = args[0], args[1:]
	}
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	if file == "" {
		fmt.Fprintln(c.stderr, "cmdb import: name the FILE to import")
		fs.Usage()
		return errUsage
	}
	var r io.Reader = c.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("cmdb import: %w", err)
		}
		defer f.Close()
		r = f
	}
	var d cmdb.Dump
	dec := json.NewDecoder(io.LimitReader(r, 256<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return fmt.Errorf("cmdb import: %s is not a CMDB export: %w", file, err)
	}
	if dec.More() {
		return errors.New("cmdb import: the file holds more than one JSON value")
	}
	return withCMDB(ctx, cfg, func(ctx context.Context, s *cmdb.Service) error {
		res, err := s.Import(ctx, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "CIs: %d created, %d updated, %d unchanged; relationships: %d added, %d already there\n",
			res.Created, res.Updated, res.Unchanged, res.Related, res.AlreadyRelated)
		return nil
	})
}
