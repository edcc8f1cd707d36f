package web

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opsdeck/opsdeck/internal/cmdb"
)

// Sizes of the dependency graph drawing.
const (
	graphNodeW   = 168
	graphNodeH   = 40
	graphGapX    = 16
	graphGapY    = 56
	graphPerRow  = 7
	graphMaxRows = 4 // per direction
)

// graphBox is one drawn node.
type graphBox struct {
	x, y int
	ref  cmdb.CIRef
	root bool
	more int // > 0: a "+N more" marker instead of a CI
	href string
}

// dependencyGraph draws a CI's neighbourhood as SVG: the CI in the middle,
// what its failure hurts (upstream) in rows above, nearest first, and what
// it needs (downstream) in rows below, up to the walks' depth. Each row
// shows at most graphPerRow CIs and then a "+N more" marker linking to the
// full impact list; each node links to its CI's page. The walks visit each
// CI once, so cycles draw as a tree of shortest paths; a CI on a cycle
// through the root is both above and below it and is drawn in both places.
func dependencyGraph(root cmdb.CIRef, up, down cmdb.ImpactResult) template.HTML {
	rowsOf := func(res cmdb.ImpactResult) [][]cmdb.Node {
		var rows [][]cmdb.Node
		for _, n := range res.Nodes {
			if n.Depth > graphMaxRows || n.CI.ID == root.ID {
				continue // walks never return the root; be safe anyway
			}
			for len(rows) < n.Depth {
				rows = append(rows, nil)
			}
			rows[n.Depth-1] = append(rows[n.Depth-1], n)
		}
		return rows
	}
	upRows, downRows := rowsOf(up), rowsOf(down)
	widest := 1
	for _, rs := range [][][]cmdb.Node{upRows, downRows} {
		for _, r := range rs {
			widest = max(widest, min(len(r), graphPerRow+1))
		}
	}
	width := widest*(graphNodeW+graphGapX) + graphGapX
	nrows := len(upRows) + 1 + len(downRows)
	height := nrows*(graphNodeH+graphGapY) - graphGapY + 2*graphGapX
	rowY := func(i int) int { return graphGapX + i*(graphNodeH+graphGapY) }
	placed := map[int64]graphBox{}
	var boxes []graphBox
	layout := func(nodes []cmdb.Node, y int, dir cmdb.Direction) {
		shown := nodes
		more := 0
		if len(nodes) > graphPerRow {
			shown, more = nodes[:graphPerRow], len(nodes)-graphPerRow
		}
		n := len(shown)
		if more > 0 {
			n++
		}
		x0 := (width - n*(graphNodeW+graphGapX) + graphGapX) / 2
		for i, nd := range shown {
			b := graphBox{x: x0 + i*(graphNodeW+graphGapX), y: y, ref: nd.CI, href: "/cis/" + strconv.FormatInt(nd.CI.ID, 10)}
			placed[nd.CI.ID] = b
			boxes = append(boxes, b)
		}
		if more > 0 {
			boxes = append(boxes, graphBox{x: x0 + len(shown)*(graphNodeW+graphGapX), y: y, more: more,
				href: "/cis/" + strconv.FormatInt(root.ID, 10) + "?direction=" + string(dir) + "#impact"})
		}
	}
	for i, r := range upRows {
		layout(r, rowY(len(upRows)-1-i), cmdb.Upstream)
	}
	rb := graphBox{x: (width - graphNodeW) / 2, y: rowY(len(upRows)), ref: root, root: true, href: "/cis/" + strconv.FormatInt(root.ID, 10)}
	placed[root.ID] = rb
	boxes = append(boxes, rb)
	for i, r := range downRows {
		layout(r, rowY(len(upRows)+1+i), cmdb.Downstream)
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="ci-graph" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="ci-graph-title">`, width, height, width, height)
	fmt.Fprintf(&b, `<title id="ci-graph-title">Dependencies of %s: %d CIs its failure hurts above, %d CIs it needs below</title>`,
		template.HTMLEscapeString(root.Name), len(up.Nodes), len(down.Nodes))
	edge := func(res cmdb.ImpactResult, above bool) {
		for _, n := range res.Nodes {
			child, ok1 := placed[n.CI.ID]
			parent, ok2 := placed[n.Via]
			if !ok1 || !ok2 || child.root {
				continue
			}
			x1, y1 := parent.x+graphNodeW/2, parent.y
			x2, y2 := child.x+graphNodeW/2, child.y+graphNodeH
			if !above {
				y1, y2 = parent.y+graphNodeH, child.y
			}
			fmt.Fprintf(&b, `<line class="ci-edge" x1="%d" y1="%d" x2="%d" y2="%d"><title>%s</title></line>`, x1, y1, x2, y2, template.HTMLEscapeString(n.RelType))
		}
	}
	edge(up, true)
	edge(down, false)
	for _, bx := range boxes {
		cls := "ci-node"
		label := bx.ref.Name
		sub := strings.ReplaceAll(bx.ref.Type, "_", " ")
		switch {
		case bx.more > 0:
			cls += " ci-node-more"
			label, sub = fmt.Sprintf("+%d more", bx.more), "see the list"
		case bx.root:
			cls += " ci-node-root"
		case bx.ref.Service:
			cls += " ci-node-service"
		}
		fmt.Fprintf(&b, `<a href="%s"><g class="%s"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="6"/>`,
			template.HTMLEscapeString(bx.href), cls, template.HTMLEscapeString(label+" ("+sub+")"), bx.x, bx.y, graphNodeW, graphNodeH)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="ci-node-name">%s</text><text x="%d" y="%d" class="ci-node-type">%s</text></g></a>`,
			bx.x+8, bx.y+17, template.HTMLEscapeString(shorten(label, 22)), bx.x+8, bx.y+32, template.HTMLEscapeString(shorten(sub, 26)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every outside string above is escaped
}

// shorten cuts s to n characters with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
