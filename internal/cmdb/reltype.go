package cmdb

import (
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Impact says which way a failure travels along a relationship from its
// source to its target ("web depends_on db": source web, target db).
type Impact string

// The impact directions.
const (
	// ImpactTargetToSource: the target failing hurts the source (web
	// depends_on db: db failing hurts web). Most relationships are so.
	ImpactTargetToSource Impact = "target_to_source"
	// ImpactSourceToTarget: the source failing hurts the target.
	ImpactSourceToTarget Impact = "source_to_target"
	// ImpactBoth: either end failing hurts the other.
	ImpactBoth Impact = "both"
	// ImpactNone: the relationship is recorded but carries no impact
	// (backed_up_by: a backup failing does not stop the service).
	ImpactNone Impact = "none"
)

// Impacts lists every impact direction.
func Impacts() []Impact {
	return []Impact{ImpactTargetToSource, ImpactSourceToTarget, ImpactBoth, ImpactNone}
}

// hurtsSource reports whether a failing target hurts the source.
func (i Impact) hurtsSource() bool { return i == ImpactTargetToSource || i == ImpactBoth }

// hurtsTarget reports whether a failing source hurts the target.
func (i Impact) hurtsTarget() bool { return i == ImpactSourceToTarget || i == ImpactBoth }

// RelationshipType is a kind of directed relationship. Name reads from the
// source ("depends on"), ReverseName from the target ("is needed by").
type RelationshipType struct {
	ID          int64     `json:"id"`
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	ReverseName string    `json:"reverse_name"`
	Description string    `json:"description"`
	Impact      Impact    `json:"impact"`
	Builtin     bool      `json:"builtin"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// RelationshipTypeInput is what creating or changing a relationship type
// takes. A built-in type keeps its key.
type RelationshipTypeInput struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	ReverseName string `json:"reverse_name"`
	Description string `json:"description"`
	Impact      Impact `json:"impact"`
}

func (in *RelationshipTypeInput) normalize() error {
	in.Key = strings.TrimSpace(in.Key)
	in.Name = strings.TrimSpace(in.Name)
	in.ReverseName = strings.TrimSpace(in.ReverseName)
	if err := checkKey("key", in.Key); err != nil {
		return err
	}
	if err := valid.Text("name", in.Name, true, maxLabel, false); err != nil {
		return err
	}
	if err := valid.Text("reverse_name", in.ReverseName, true, maxLabel, false); err != nil {
		return err
	}
	if err := valid.Text("description", in.Description, false, MaxDescription, true); err != nil {
		return err
	}
	if in.Impact == "" {
		in.Impact = ImpactTargetToSource
	}
	if !slices.Contains(Impacts(), in.Impact) {
		return valid.Errorf("impact", "must be one of target_to_source, source_to_target, both, none")
	}
	return nil
}

// builtinRelationshipTypes are seeded on start.
func builtinRelationshipTypes() []RelationshipTypeInput {
	return []RelationshipTypeInput{
		{Key: "depends_on", Name: "depends on", ReverseName: "is needed by", Impact: ImpactTargetToSource,
			Description: "The source needs the target to work: the target failing hurts the source."},
		{Key: "runs_on", Name: "runs on", ReverseName: "runs", Impact: ImpactTargetToSource,
			Description: "Software (the source) runs on a host, VM or container (the target)."},
		{Key: "hosted_on", Name: "hosted on", ReverseName: "hosts", Impact: ImpactTargetToSource,
			Description: "A VM, container or service (the source) is hosted on the target."},
		{Key: "connects_to", Name: "connects to", ReverseName: "is connected from", Impact: ImpactTargetToSource,
			Description: "The source reaches the target over the network; the target failing hurts the source."},
		{Key: "backed_up_by", Name: "backed up by", ReverseName: "backs up", Impact: ImpactNone,
			Description: "The target holds the source's backups; a backup failing does not stop the source."},
	}
}

// builtinTypes are the CI types seeded on start, with useful attributes.
func builtinTypes() []CITypeInput {
	env := []string{"postgresql", "mysql", "mariadb", "sqlserver", "oracle", "mongodb", "redis", "sqlite", "other"}
	return []CITypeInput{
		{Key: "business_service", Name: "Business service", Service: true,
			Description: "What the business offers and users notice when it fails; impact analysis reports these.",
			Attributes:  Schema{{Key: "url", Label: "URL", Type: AttrURL}, {Key: "sla_percent", Label: "SLA target (%)", Type: AttrFloat}}},
		{Key: "application", Name: "Application", Description: "Software that serves a business service.",
			Attributes: Schema{{Key: "version", Label: "Version", Type: AttrString}, {Key: "repository", Label: "Repository", Type: AttrURL}}},
		{Key: "host", Name: "Host", Description: "A physical server or workstation.",
			Attributes: Schema{{Key: "hostname", Label: "Host name", Type: AttrString}, {Key: "ip", Label: "IP address", Type: AttrIP},
				{Key: "os", Label: "Operating system", Type: AttrString}, {Key: "cpu_cores", Label: "CPU cores", Type: AttrInt},
				{Key: "memory_gb", Label: "Memory (GB)", Type: AttrFloat}}},
		{Key: "virtual_machine", Name: "Virtual machine", Description: "A guest on a hypervisor or cloud.",
			Attributes: Schema{{Key: "hostname", Label: "Host name", Type: AttrString}, {Key: "ip", Label: "IP address", Type: AttrIP},
				{Key: "os", Label: "Operating system", Type: AttrString}, {Key: "vcpus", Label: "vCPUs", Type: AttrInt},
				{Key: "memory_gb", Label: "Memory (GB)", Type: AttrFloat}}},
		{Key: "container", Name: "Container", Description: "A container or pod.",
			Attributes: Schema{{Key: "image", Label: "Image", Type: AttrString}, {Key: "namespace", Label: "Namespace", Type: AttrString}}},
		{Key: "database", Name: "Database", Description: "A database or data store.",
			Attributes: Schema{{Key: "engine", Label: "Engine", Type: AttrEnum, Values: env}, {Key: "version", Label: "Version", Type: AttrString},
				{Key: "port", Label: "Port", Type: AttrInt}}},
		{Key: "network_device", Name: "Network device", Description: "A switch, router, firewall or load balancer.",
			Attributes: Schema{{Key: "ip", Label: "Management IP", Type: AttrIP}, {Key: "vendor", Label: "Vendor", Type: AttrString},
				{Key: "model", Label: "Model", Type: AttrString}}},
		{Key: "storage", Name: "Storage", Description: "A storage array, NAS, volume or bucket.",
			Attributes: Schema{{Key: "capacity_gb", Label: "Capacity (GB)", Type: AttrFloat}, {Key: "protocol", Label: "Protocol", Type: AttrEnum,
				Values: []string{"nfs", "smb", "iscsi", "fc", "s3", "block", "other"}}}},
		{Key: "cloud_resource", Name: "Cloud resource", Description: "A managed cloud service or resource.",
			Attributes: Schema{{Key: "provider", Label: "Provider", Type: AttrString}, {Key: "region", Label: "Region", Type: AttrString},
				{Key: "resource_id", Label: "Resource id", Type: AttrString}}},
	}
}
