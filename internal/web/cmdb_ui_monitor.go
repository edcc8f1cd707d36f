package web

import (
	"net/http"

	"github.com/opsdeck/opsdeck/internal/cmdb"
)

// monitorCIs is what a monitor's page shows of the CMDB: the CIs the
// monitor is linked to and the business services their failure hurts. It
// is nil on a server without a CMDB.
func (s *Server) monitorCIs(r *http.Request, monitorID int64) (*linkedView, error) {
	if s.opts.CMDB == nil {
		return nil, nil
	}
	h := &cmdbHandlers{s: s, c: s.opts.CMDB}
	v, err := h.linkedTo(r, cmdb.LinkMonitor, monitorID)
	if err != nil {
		return nil, err
	}
	return &v, nil
}
