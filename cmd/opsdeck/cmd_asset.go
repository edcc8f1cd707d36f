package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opsdeck/opsdeck/internal/app"
	"github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/config"
)

const assetHelp = `Subcommands:
  export  [--status S] [--category C] [--location L] [--q TEXT] [--sort KEY]
                                prints the assets (all, or those matching) as CSV on stdout
  import  FILE [--dry-run]      creates or updates assets from a CSV file, matched on tag;
                                the whole file is checked first, so a bad file changes nothing
Each takes --data, --db and --config like 'serve'. See docs/assets.md for the columns.`

func cmdAsset(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "asset", args, map[string]func(context.Context, *cli, []string) error{
		"export": assetExport, "import": assetImport,
	}, assetHelp)
}

// withAssets opens the store and the asset service for one CLI command,
// acting as the operator at the command line.
func withAssets(ctx context.Context, cfg config.Config, fn func(ctx context.Context, s *asset.Service) error) error {
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx = auth.WithActor(ctx, auth.CLIActor(osUser()))
	return fn(ctx, asset.NewService(db, asset.Options{}))
}

func assetExport(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "asset export", "asset export [filters] [flags]",
		"Prints the assets as CSV (the columns 'asset import' reads, plus who has each). Cells a spreadsheet would run as a formula start with an apostrophe.")
	sf := addStoreFlags(fs)
	var f asset.ListFilter
	status := fs.String("status", "", "only assets in this `state` (ordered, in_stock, deployed, in_repair, retired, disposed)")
	fs.StringVar(&f.Category, "category", "", "only this `category`")
	fs.StringVar(&f.Location, "location", "", "only this `location`")
	fs.StringVar(&f.Query, "q", "", "only assets whose tag, serial, model or manufacturer contains `text`")
	fs.StringVar(&f.Sort, "sort", "tag", "`order`: tag, -tag, updated, -updated, warranty, -warranty")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	f.Status = asset.Status(*status)
	return withAssets(ctx, cfg, func(ctx context.Context, s *asset.Service) error {
		return s.Export(ctx, c.stdout, f)
	})
}

func assetImport(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "asset import", "asset import FILE [--dry-run] [flags]",
		"Creates or updates assets from a CSV file (- reads stdin): a row whose tag exists updates that asset.")
	sf := addStoreFlags(fs)
	dry := fs.Bool("dry-run", false, "check the file and report what it would do; write nothing")
	var file string
	if len(args) > 0 && (args[0] == "-" || !strings.HasPrefix(args[0], "-")) {
		file, args = args[0], args[1:]
	}
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	if file == "" {
		fmt.Fprintln(c.stderr, "asset import: name the FILE to import")
		fs.Usage()
		return errUsage
	}
	var r io.Reader = c.stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("asset import: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	data, err := io.ReadAll(io.LimitReader(r, asset.MaxCSVBytes+1))
	if err != nil {
		return fmt.Errorf("asset import: %w", err)
	}
	return withAssets(ctx, cfg, func(ctx context.Context, s *asset.Service) error {
		rep, err := s.Import(ctx, data, *dry)
		if errors.Is(err, asset.ErrImportRefused) {
			for _, e := range rep.Errors {
				fmt.Fprintln(c.stderr, e.Error())
			}
			if rep.Truncated {
				fmt.Fprintln(c.stderr, "(more problems not listed)")
			}
			return fmt.Errorf("asset import: %d problems; nothing was written", len(rep.Errors))
		}
		if err != nil {
			return err
		}
		verb := "created"
		if *dry {
			verb = "would be created"
		}
		fmt.Fprintf(c.stdout, "%d rows: %d %s, %d updated%s\n", rep.Rows, rep.Created, verb, rep.Updated, map[bool]string{true: " (dry run: nothing written)"}[*dry])
		return nil
	})
}
