package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ciBody is what POST and PUT /cis take: a CI's fields. The fields a GET
// adds (id, type_id, times) are accepted and ignored, so a GET body can be
// edited and sent back. (Fields are spelled out rather than embedded so
// that decoding errors name them as the client wrote them.)
type ciBody struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	OwnerTeam   string          `json:"owner_team"`
	Criticality string          `json:"criticality"`
	Environment string          `json:"environment"`
	Status      string          `json:"status"`
	Attributes  map[string]any  `json:"attributes"`
	Tags        []string        `json:"tags"`
	ID          json.RawMessage `json:"id,omitempty"`
	TypeID      json.RawMessage `json:"type_id,omitempty"`
	CreatedAt   json.RawMessage `json:"created_at,omitempty"`
	UpdatedAt   json.RawMessage `json:"updated_at,omitempty"`
}

func (b ciBody) input() cmdb.CIInput {
	return cmdb.CIInput{Type: b.Type, Name: b.Name, Description: b.Description, OwnerTeam: b.OwnerTeam, Criticality: cmdb.Criticality(b.Criticality),
		Environment: cmdb.Environment(b.Environment), Status: cmdb.Status(b.Status), Attributes: b.Attributes, Tags: b.Tags}
}

// typeBody and relTypeBody do the same for types.
type typeBody struct {
	Key         string          `json:"key"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Service     bool            `json:"service"`
	Attributes  cmdb.Schema     `json:"attributes"`
	ID          json.RawMessage `json:"id,omitempty"`
	Builtin     json.RawMessage `json:"builtin,omitempty"`
	CreatedAt   json.RawMessage `json:"created_at,omitempty"`
	UpdatedAt   json.RawMessage `json:"updated_at,omitempty"`
}

func (b typeBody) input() cmdb.CITypeInput {
	return cmdb.CITypeInput{Key: b.Key, Name: b.Name, Description: b.Description, Service: b.Service, Attributes: b.Attributes}
}

type relTypeBody struct {
	Key         string          `json:"key"`
	Name        string          `json:"name"`
	ReverseName string          `json:"reverse_name"`
	Description string          `json:"description"`
	Impact      string          `json:"impact"`
	ID          json.RawMessage `json:"id,omitempty"`
	Builtin     json.RawMessage `json:"builtin,omitempty"`
	CreatedAt   json.RawMessage `json:"created_at,omitempty"`
	UpdatedAt   json.RawMessage `json:"updated_at,omitempty"`
}

func (b relTypeBody) input() cmdb.RelationshipTypeInput {
	return cmdb.RelationshipTypeInput{Key: b.Key, Name: b.Name, ReverseName: b.ReverseName, Description: b.Description, Impact: cmdb.Impact(b.Impact)}
}

// answer writes v, or the API error for err.
func (h *cmdbHandlers) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, v)
}

// withID runs fn with the path's {id}, or answers its error.
func (h *cmdbHandlers) withID(w http.ResponseWriter, r *http.Request, fn func(id int64)) {
	id, err := pathID(r)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	fn(id)
}

func (h *cmdbHandlers) apiListTypes(w http.ResponseWriter, r *http.Request) {
	ts, err := h.c.Types(r.Context())
	h.answer(w, r, http.StatusOK, page[cmdb.CIType]{Data: orEmpty(ts)}, err)
}

func (h *cmdbHandlers) apiCreateType(w http.ResponseWriter, r *http.Request) {
	var b typeBody
	if !h.s.decodeJSON(w, r, &b) {
		return
	}
	t, err := h.c.CreateType(r.Context(), b.input())
	if err == nil {
		w.Header().Set("Location", "/api/v1/ci-types/"+strconv.FormatInt(t.ID, 10))
	}
	h.answer(w, r, http.StatusCreated, t, err)
}

func (h *cmdbHandlers) apiGetType(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		t, err := h.c.Type(r.Context(), id)
		h.answer(w, r, http.StatusOK, t, err)
	})
}

func (h *cmdbHandlers) apiUpdateType(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var b typeBody
		if !h.s.decodeJSON(w, r, &b) {
			return
		}
		t, err := h.c.UpdateType(r.Context(), id, b.input())
		h.answer(w, r, http.StatusOK, t, err)
	})
}

func (h *cmdbHandlers) apiDeleteType(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		h.answer(w, r, http.StatusNoContent, nil, h.c.DeleteType(r.Context(), id))
	})
}

func (h *cmdbHandlers) apiListRelTypes(w http.ResponseWriter, r *http.Request) {
	ts, err := h.c.RelationshipTypes(r.Context())
	h.answer(w, r, http.StatusOK, page[cmdb.RelationshipType]{Data: orEmpty(ts)}, err)
}

func (h *cmdbHandlers) apiCreateRelType(w http.ResponseWriter, r *http.Request) {
	var b relTypeBody
	if !h.s.decodeJSON(w, r, &b) {
		return
	}
	t, err := h.c.CreateRelationshipType(r.Context(), b.input())
	if err == nil {
		w.Header().Set("Location", "/api/v1/relationship-types/"+strconv.FormatInt(t.ID, 10))
	}
	h.answer(w, r, http.StatusCreated, t, err)
}

func (h *cmdbHandlers) apiGetRelType(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		t, err := h.c.RelationshipType(r.Context(), id)
		h.answer(w, r, http.StatusOK, t, err)
	})
}

func (h *cmdbHandlers) apiUpdateRelType(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var b relTypeBody
		if !h.s.decodeJSON(w, r, &b) {
			return
		}
		t, err := h.c.UpdateRelationshipType(r.Context(), id, b.input())
		h.answer(w, r, http.StatusOK, t, err)
	})
}

func (h *cmdbHandlers) apiDeleteRelType(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		h.answer(w, r, http.StatusNoContent, nil, h.c.DeleteRelationshipType(r.Context(), id))
	})
}

// ciFilter reads the list filters shared by the API and the list page.
func ciFilter(r *http.Request) (cmdb.ListFilter, error) {
	q := r.URL.Query()
	f := cmdb.ListFilter{Type: q.Get("type"), Environment: cmdb.Environment(q.Get("environment")), Status: cmdb.Status(q.Get("status")),
		Criticality: cmdb.Criticality(q.Get("criticality")), Query: q.Get("q"), Tag: q.Get("tag"), Sort: q.Get("sort")}
	for _, p := range []struct{ name, v string }{{"type", f.Type}, {"environment", string(f.Environment)}, {"status", string(f.Status)},
		{"criticality", string(f.Criticality)}, {"q", f.Query}, {"tag", f.Tag}, {"sort", f.Sort}} {
		if err := valid.Text(p.name, p.v, false, 200, false); err != nil {
			return f, err
		}
	}
	var err error
	f.After, err = decodeCursor(q.Get("cursor"))
	return f, err
}

func (h *cmdbHandlers) apiListCIs(w http.ResponseWriter, r *http.Request) {
	f, err := ciFilter(r)
	if err == nil {
		f.Limit, err = queryLimit(r, 100, 1000)
	}
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	cs, next, err := h.c.List(r.Context(), f)
	h.answer(w, r, http.StatusOK, page[cmdb.CI]{Data: orEmpty(cs), NextCursor: encodeCursor(next)}, err)
}

func (h *cmdbHandlers) apiCreateCI(w http.ResponseWriter, r *http.Request) {
	var b ciBody
	if !h.s.decodeJSON(w, r, &b) {
		return
	}
	c, err := h.c.Create(r.Context(), b.input())
	if err == nil {
		w.Header().Set("Location", "/api/v1/cis/"+strconv.FormatInt(c.ID, 10))
	}
	h.answer(w, r, http.StatusCreated, c, err)
}

func (h *cmdbHandlers) apiGetCI(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		c, err := h.c.Get(r.Context(), id)
		h.answer(w, r, http.StatusOK, c, err)
	})
}

func (h *cmdbHandlers) apiUpdateCI(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var b ciBody
		if !h.s.decodeJSON(w, r, &b) {
			return
		}
		c, err := h.c.Update(r.Context(), id, b.input())
		h.answer(w, r, http.StatusOK, c, err)
	})
}

func (h *cmdbHandlers) apiDeleteCI(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		h.answer(w, r, http.StatusNoContent, nil, h.c.Delete(r.Context(), id))
	})
}

func (h *cmdbHandlers) apiListRelationships(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		rs, err := h.c.Relationships(r.Context(), id)
		h.answer(w, r, http.StatusOK, page[cmdb.Relationship]{Data: orEmpty(rs)}, err)
	})
}

// apiRelate relates the CI in the path to another: give target_id for a
// relationship from this CI, or source_id for one to it.
func (h *cmdbHandlers) apiRelate(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var in cmdb.RelationshipInput
		if !h.s.decodeJSON(w, r, &in) {
			return
		}
		switch {
		case in.SourceID == 0 && in.TargetID == 0:
			h.s.apiFail(w, r, valid.Errorf("target_id", "give target_id (this CI is the source) or source_id (this CI is the target)"))
			return
		case in.SourceID == 0:
			in.SourceID = id
		case in.TargetID == 0:
			in.TargetID = id
		}
		if in.SourceID != id && in.TargetID != id {
			h.s.apiFail(w, r, valid.Errorf("source_id", "one end must be this CI (%d)", id))
			return
		}
		rel, err := h.c.Relate(r.Context(), in)
		h.answer(w, r, http.StatusCreated, rel, err)
	})
}

func (h *cmdbHandlers) apiUnrelate(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		h.answer(w, r, http.StatusNoContent, nil, h.c.Unrelate(r.Context(), id))
	})
}

// impactParams reads direction and depth.
func impactParams(r *http.Request, defDepth int) (cmdb.Direction, int, error) {
	dir, err := cmdb.ParseDirection("direction", r.URL.Query().Get("direction"))
	if err != nil {
		return dir, 0, err
	}
	depth := defDepth
	if v := r.URL.Query().Get("depth"); v != "" {
		depth, err = strconv.Atoi(v)
		if err != nil || depth < 0 || depth > cmdb.MaxImpactDepth {
			return dir, 0, valid.Errorf("depth", "must be a number from 0 (no limit) to %d", cmdb.MaxImpactDepth)
		}
	}
	return dir, depth, nil
}

func (h *cmdbHandlers) apiImpact(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		dir, depth, err := impactParams(r, 0)
		if err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		res, err := h.c.Impact(r.Context(), id, dir, depth)
		h.answer(w, r, http.StatusOK, res, err)
	})
}

func (h *cmdbHandlers) apiHistory(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		before, err := decodeCursor(r.URL.Query().Get("cursor"))
		var limit int
		if err == nil {
			limit, err = queryLimit(r, 50, 500)
		}
		if err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		hs, next, err := h.c.History(r.Context(), id, before, limit)
		h.answer(w, r, http.StatusOK, page[cmdb.Change]{Data: orEmpty(hs), NextCursor: encodeCursor(next)}, err)
	})
}

func (h *cmdbHandlers) apiListLinks(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		if _, err := h.c.Get(r.Context(), id); err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		ls, err := h.c.Links(r.Context(), id)
		h.answer(w, r, http.StatusOK, page[cmdb.Link]{Data: orEmpty(ls)}, err)
	})
}

// linkBody is what POST /cis/{id}/links takes.
type linkBody struct {
	Kind     string `json:"kind"`
	ObjectID int64  `json:"object_id"`
}

func (h *cmdbHandlers) apiLink(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		var b linkBody
		if !h.s.decodeJSON(w, r, &b) {
			return
		}
		l, err := h.c.LinkObject(r.Context(), id, cmdb.LinkKind(b.Kind), b.ObjectID)
		h.answer(w, r, http.StatusCreated, l, err)
	})
}

func (h *cmdbHandlers) apiUnlink(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, func(id int64) {
		h.answer(w, r, http.StatusNoContent, nil, h.c.Unlink(r.Context(), id))
	})
}

// linkedView is an object's CIs and the business services they hurt.
type linkedView struct {
	Links    []cmdb.Link  `json:"data"`
	Services []cmdb.CIRef `json:"impacted_services"`
}

// apiLinksOf answers GET /ci-links?kind=monitor&object_id=7: the CIs the
// object is linked to and the business services they hurt.
func (h *cmdbHandlers) apiLinksOf(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	kind, err := cmdb.ParseLinkKind("kind", q.Get("kind"))
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	oid, err := strconv.ParseInt(q.Get("object_id"), 10, 64)
	if err != nil || oid <= 0 {
		h.s.apiFail(w, r, valid.Errorf("object_id", "must be a positive number"))
		return
	}
	v, err := h.linkedTo(r, kind, oid)
	h.answer(w, r, http.StatusOK, v, err)
}

// linkedTo gathers an object's links and the services its CIs hurt.
func (h *cmdbHandlers) linkedTo(r *http.Request, kind cmdb.LinkKind, id int64) (linkedView, error) {
	ls, err := h.c.LinksOf(r.Context(), kind, id)
	if err != nil {
		return linkedView{}, err
	}
	v := linkedView{Links: orEmpty(ls), Services: []cmdb.CIRef{}}
	seen := map[int64]bool{}
	for _, l := range ls {
		if l.CI.Service && !seen[l.CI.ID] {
			seen[l.CI.ID] = true
			v.Services = append(v.Services, l.CI)
		}
		svcs, err := h.c.ImpactedServices(r.Context(), l.CI.ID)
		if err != nil {
			return v, err
		}
		for _, sv := range svcs {
			if !seen[sv.ID] {
				seen[sv.ID] = true
				v.Services = append(v.Services, cmdb.CIRef{ID: sv.ID, Name: sv.Name, Type: sv.Type, Service: true})
			}
		}
	}
	return v, nil
}

// orEmpty makes a nil list an empty one, so JSON shows [] rather than null.
func orEmpty[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
