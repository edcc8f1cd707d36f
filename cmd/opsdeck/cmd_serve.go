package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/opsdeck/opsdeck/internal/app"
)

func cmdServe(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "serve", "serve [flags]",
		"Runs the opsdeck server. With no flags it keeps its data in ./opsdeck-data (SQLite),\n"+
			"listens on 127.0.0.1:8080 and, on first start, creates the user \"admin\" with the\n"+
			"password from OPSDECK_ADMIN_PASSWORD or a generated one printed once.")
	sf := addStoreFlags(fs)
	sf.settings["addr"] = fs.String("addr", "", "`host:port` to listen on (default 127.0.0.1:8080)")
	sf.settings["base_url"] = fs.String("base-url", "", "external `URL` of this server, used in links and to mark cookies Secure behind HTTPS proxies")
	sf.settings["log.level"] = fs.String("log-level", "", "log `level`: debug, info, warn, error (default info)")
	sf.settings["log.format"] = fs.String("log-format", "", "log `format`: text or json (default text)")
	sf.settings["monitors_path"] = fs.String("monitors-path", "", "YAML `file or folder` declaring monitors as code; applied on start and on SIGHUP")
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg.Log, c.stderr)
	reload := make(chan os.Signal, 1)
	signal.Notify(reload, syscall.SIGHUP)
	defer signal.Stop(reload)
	return app.Run(ctx, cfg, app.Options{
		Reload:        reload,
		Version:       buildVersion(),
		AdminPassword: c.env.get("OPSDECK_ADMIN_PASSWORD"),
		Console:       c.stdout,
		Logger:        log,
	})
}

func cmdMigrate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "migrate", "migrate [flags]",
		"Applies pending database migrations and exits. 'serve' does this on start too;\n"+
			"run it alone to upgrade the schema before starting new binaries.")
	sf := addStoreFlags(fs)
	cfg, err := sf.parse(c, args)
	if err != nil {
		return err
	}
	db, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	cur, _, err := db.MigrationState(ctx)
	if err != nil {
		return err
	}
	_, err = c.stdout.Write([]byte("schema is at version " + itoa(cur) + " (" + string(db.Dialect) + ", " + db.Location + ")\n"))
	return err
}

func cmdVersion(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "version", "version", "Prints the version of this binary.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, err := c.stdout.Write([]byte("opsdeck " + buildVersion() + "\n"))
	return err
}
