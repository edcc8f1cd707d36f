package cmdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Dump is the CMDB's CIs and relationships as export writes them and
// import reads them. CIs are keyed by type and name, not id, so a dump
// moves between installations.
type Dump struct {
	CIs           []CIInput      `json:"cis"`
	Relationships []DumpRelation `json:"relationships"`
}

// CIKey names a CI across installations.
type CIKey struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// DumpRelation is a relationship between two CIs named by key.
type DumpRelation struct {
	Type   string `json:"type"`
	Source CIKey  `json:"source"`
	Target CIKey  `json:"target"`
}

// Export returns every CI and relationship.
func (s *Service) Export(ctx context.Context) (Dump, error) {
	d := Dump{CIs: []CIInput{}, Relationships: []DumpRelation{}}
	var after int64
	for {
		cs, next, err := s.List(ctx, ListFilter{After: after, Limit: 1000})
		if err != nil {
			return d, err
		}
		for _, c := range cs {
			d.CIs = append(d.CIs, CIInput{Type: c.Type, Name: c.Name, Description: c.Description, OwnerTeam: c.OwnerTeam,
				Criticality: c.Criticality, Environment: c.Environment, Status: c.Status, Attributes: c.Attributes, Tags: c.Tags})
		}
		if next == 0 {
			break
		}
		after = next
	}
	rows, err := s.db.R.QueryContext(ctx, relSelect+` ORDER BY r.id`)
	if err != nil {
		return d, fmt.Errorf("cmdb: export relationships: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRel(rows)
		if err != nil {
			return d, fmt.Errorf("cmdb: export relationships: %w", err)
		}
		d.Relationships = append(d.Relationships, DumpRelation{Type: r.Type, Source: CIKey{r.Source.Type, r.Source.Name}, Target: CIKey{r.Target.Type, r.Target.Name}})
	}
	return d, rows.Err()
}

// ImportResult counts what an import did.
type ImportResult struct {
	Created, Updated, Unchanged int
	Related, AlreadyRelated     int
}

// Import applies a dump: CIs are matched by type and name and created or
// updated; relationships are added unless present. Everything is checked
// before the first write (errors name the item, such as "cis[3].attributes.ip"),
// so a bad file changes nothing. History records the changes with source
// "import" unless ctx says otherwise.
func (s *Service) Import(ctx context.Context, d Dump) (ImportResult, error) {
	var res ImportResult
	if _, ok := ctx.Value(sourceKey{}).(Source); !ok {
		ctx = WithSource(ctx, SourceImport)
	}
	inFile := map[CIKey]bool{}
	for i := range d.CIs {
		in := d.CIs[i]
		if _, _, err := s.prepare(ctx, s.db.R, &in); err != nil {
			return res, prefix(fmt.Sprintf("cis[%d]", i), err)
		}
		k := CIKey{in.Type, in.Name}
		if inFile[k] {
			return res, valid.Errorf(fmt.Sprintf("cis[%d].name", i), "%s %q appears twice", in.Type, clip(in.Name, 80))
		}
		inFile[k] = true
	}
	for i, r := range d.Relationships {
		if _, err := s.relTypeWhere(ctx, s.db.R, `key = $1`, r.Type); err != nil {
			return res, valid.Errorf(fmt.Sprintf("relationships[%d].type", i), "%q is not a relationship type", clip(r.Type, 64))
		}
		for _, end := range []struct {
			field string
			k     CIKey
		}{{"source", r.Source}, {"target", r.Target}} {
			if inFile[end.k] {
				continue
			}
			if _, err := s.findByKey(ctx, end.k); err != nil {
				return res, valid.Errorf(fmt.Sprintf("relationships[%d].%s", i, end.field), "no CI %s %q in the file or the CMDB", clip(end.k.Type, 64), clip(end.k.Name, 80))
			}
		}
	}
	ids := map[CIKey]int64{}
	for _, in := range d.CIs {
		k := CIKey{in.Type, in.Name}
		old, err := s.findByKey(ctx, k)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c, err := s.Create(ctx, in)
			if err != nil {
				return res, err
			}
			ids[k] = c.ID
			res.Created++
		case err != nil:
			return res, err
		default:
			c, err := s.Update(ctx, old.ID, in)
			if err != nil {
				return res, err
			}
			ids[k] = c.ID
			if c.UpdatedAt.Equal(old.UpdatedAt) {
				res.Unchanged++
			} else {
				res.Updated++
			}
		}
	}
	for _, r := range d.Relationships {
		var end [2]int64
		for j, k := range []CIKey{r.Source, r.Target} {
			if id, ok := ids[k]; ok {
				end[j] = id
				continue
			}
			c, err := s.findByKey(ctx, k)
			if err != nil {
				return res, err
			}
			end[j] = c.ID
		}
		_, err := s.Relate(ctx, RelationshipInput{Type: r.Type, SourceID: end[0], TargetID: end[1]})
		switch {
		case errors.Is(err, store.ErrConflict):
			res.AlreadyRelated++
		case err != nil:
			return res, err
		default:
			res.Related++
		}
	}
	return res, nil
}

// findByKey returns the CI with type and name.
func (s *Service) findByKey(ctx context.Context, k CIKey) (CI, error) {
	var id int64
	err := s.db.R.QueryRowContext(ctx, `SELECT c.id FROM cis c JOIN ci_types t ON t.id = c.type_id WHERE t.key = $1 AND c.name = $2`, k.Type, k.Name).Scan(&id)
	if err != nil {
		return CI{}, fmt.Errorf("cmdb: find %s %q: %w", k.Type, k.Name, store.MapError(err))
	}
	return s.Get(ctx, id)
}

// prefix puts where in a file a validation error is before its field.
func prefix(where string, err error) error {
	if ve, ok := valid.As(err); ok {
		return &valid.Error{Field: where + "." + ve.Field, Msg: ve.Msg}
	}
	return err
}
