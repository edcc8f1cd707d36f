package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/opsdeck/opsdeck/internal/asset"
)

const licenseHelp = `Subcommands:
  list    [--publisher P] [--q TEXT] [--over-used] [--expiring-within DAYS] [--sort KEY]
                                prints the licenses with seats bought, assigned and over-use
  export  [same filters]        prints them as CSV on stdout (never the keys)
Each takes --data, --db and --config like 'serve'. The command line has no agent
data: installations are counted by the server's pages and API only.
See docs/assets.md, "Licenses".`

func cmdLicense(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "license", args, map[string]func(context.Context, *cli, []string) error{
		"list": licenseList, "export": licenseExport,
	}, licenseHelp)
}

// licenseQuery parses the shared filters and reads the licenses.
func licenseQuery(ctx context.Context, c *cli, name, usage string, args []string) ([]asset.LicenseStatus, error) {
	fs := newFlagSet(c, "license "+name, "license "+name+" [filters] [flags]", usage)
	sf := addStoreFlags(fs)
	var f asset.LicenseFilter
	fs.StringVar(&f.Publisher, "publisher", "", "only this `publisher`")
	fs.StringVar(&f.Query, "q", "", "only licenses whose product or publisher contains `text`")
	fs.BoolVar(&f.OverUsed, "over-used", false, "only licenses with more seats assigned than bought")
	fs.IntVar(&f.ExpiringWithin, "expiring-within", 0, "only licenses expired or expiring within `days`")
	fs.StringVar(&f.Sort, "sort", "product", "`order`: product, -product, publisher, expires, -expires, excess")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return nil, err
	}
	var out []asset.LicenseStatus
	err = withAssets(ctx, cfg, func(ctx context.Context, s *asset.Service) error {
		out, err = s.ListLicenses(ctx, f)
		return err
	})
	return out, err
}

func licenseList(ctx context.Context, c *cli, args []string) error {
	ls, err := licenseQuery(ctx, c, "list", "Prints the licenses with their seats bought and assigned.", args)
	if err != nil {
		return err
	}
	if len(ls) == 0 {
		fmt.Fprintln(c.stdout, "no licenses")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPRODUCT\tPUBLISHER\tTYPE\tSEATS\tASSIGNED\tEXPIRES\tSTATE")
	for _, l := range ls {
		seats := fmt.Sprint(l.Seats)
		if l.Unlimited() {
			seats = "unlimited"
		}
		state := "ok"
		switch {
		case l.Compliance.OverUsed:
			state = fmt.Sprintf("OVER-USED by %d", l.Compliance.Excess())
		case l.Expired:
			state = "expired"
		case l.ExpiresSoon:
			state = "expires soon"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", l.ID, l.Product, l.Publisher, l.Type, seats, l.Compliance.Assigned, orDash(l.Expires), state)
	}
	return tw.Flush()
}

func licenseExport(ctx context.Context, c *cli, args []string) error {
	ls, err := licenseQuery(ctx, c, "export", "Prints the licenses as CSV with their compliance; license keys are never exported.", args)
	if err != nil {
		return err
	}
	return asset.ExportLicenses(c.stdout, ls)
}
