package asset

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// licenseCSVColumns are the columns of the license export. The key is never
// exported; installed is empty when there is no agent data.
var licenseCSVColumns = []string{"product", "publisher", "license_type", "seats", "assigned", "installed", "installed_not_assigned",
	"over_used", "purchase_date", "expires", "cost", "currency", "supplier", "patterns", "notes"}

// ExportLicenses writes licenses with their compliance as CSV. A cell a
// spreadsheet would run as a formula gets a leading apostrophe (SafeCell).
func ExportLicenses(w io.Writer, ls []LicenseStatus) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(licenseCSVColumns); err != nil {
		return fmt.Errorf("asset: export licenses: %w", err)
	}
	for _, l := range ls {
		c := l.Compliance
		seats, installed, unassigned, cost := strconv.FormatInt(l.Seats, 10), "", "", ""
		if l.Unlimited() {
			seats = "unlimited"
		}
		if c.AgentData {
			installed, unassigned = strconv.FormatInt(c.Installed, 10), strconv.FormatInt(c.Unassigned, 10)
		}
		if l.CostCents != nil {
			cost = FormatCents(*l.CostCents)
		}
		row := []string{l.Product, l.Publisher, string(l.Type), seats, strconv.FormatInt(c.Assigned, 10), installed, unassigned,
			strconv.FormatBool(c.OverUsed), l.PurchaseDate, l.Expires, cost, l.Currency, l.Supplier, strings.Join(l.Patterns, " "), l.Notes}
		for i, v := range row {
			row[i] = SafeCell(v)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("asset: export licenses: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("asset: export licenses: %w", err)
	}
	return nil
}
