package web

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/cmdb"
)

// TestDependencyGraphLayers draws a CI with 60 CIs above it over two
// levels and 3 below, names full of markup, and a cycle back to the root:
// the SVG parses, each row shows at most graphPerRow nodes and a "more"
// marker, upstream rows are above the root and downstream below, and no
// outside text reaches the SVG unescaped.
func TestDependencyGraphLayers(t *testing.T) {
	root := cmdb.CIRef{ID: 1, Name: `<script>alert("x")</script>`, Type: "host"}
	up := cmdb.ImpactResult{Direction: cmdb.Upstream}
	for i := range 60 {
		depth, via := 1, int64(1)
		if i >= 20 {
			depth, via = 2, int64(100+i%20)
		}
		up.Nodes = append(up.Nodes, cmdb.Node{CI: cmdb.CIRef{ID: int64(100 + i), Name: fmt.Sprintf("app %d & <co>", i), Type: "application", Service: i == 0}, Depth: depth, Via: via, RelType: "depends_on"})
	}
	down := cmdb.ImpactResult{Direction: cmdb.Downstream, Nodes: []cmdb.Node{
		{CI: cmdb.CIRef{ID: 2, Name: "rack", Type: "host"}, Depth: 1, Via: 1},
		{CI: cmdb.CIRef{ID: 3, Name: "power", Type: "host"}, Depth: 2, Via: 2},
		{CI: cmdb.CIRef{ID: 1, Name: "loop back to the root", Type: "host"}, Depth: 3, Via: 3},
	}}
	svg := string(dependencyGraph(root, up, down))
	if err := xml.Unmarshal([]byte(svg), new(any)); err != nil {
		t.Fatalf("SVG does not parse: %v\n%s", err, svg)
	}
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<co>") {
		t.Fatal("markup from names reached the SVG")
	}
	if n := strings.Count(svg, `class="ci-node ci-node-more"`); n != 2 {
		t.Fatalf("%d more markers, want one per full upstream row", n)
	}
	if !strings.Contains(svg, "+13 more") || !strings.Contains(svg, "+33 more") {
		t.Fatal("more markers do not count the hidden CIs")
	}
	if n := strings.Count(svg, `class="ci-node"`) + strings.Count(svg, `class="ci-node ci-node-service"`); n != 2*graphPerRow+2 {
		t.Fatalf("%d plain nodes drawn, want %d", n, 2*graphPerRow+2)
	}
	yOf := func(href string) int {
		i := strings.Index(svg, `<a href="`+href+`">`)
		if i < 0 {
			t.Fatalf("no node %s", href)
		}
		var y int
		rest := svg[i:]
		j := strings.Index(rest, ` y="`)
		fmt.Sscanf(rest[j+4:], "%d", &y)
		return y
	}
	if !(yOf("/cis/120") < yOf("/cis/100") && yOf("/cis/100") < yOf("/cis/1") && yOf("/cis/1") < yOf("/cis/2") && yOf("/cis/2") < yOf("/cis/3")) {
		t.Fatal("rows are not upstream above, root, downstream below")
	}
	if strings.Count(svg, `<a href="/cis/1">`) != 1 {
		t.Fatal("the root is drawn twice (cycle)")
	}
}
