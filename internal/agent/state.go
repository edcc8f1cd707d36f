package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The state folder holds:
//
//	credential   the agent's secret (mode 0600)
//	agent.json   {"server": URL, "agent_id": N}
//	seq          the last sequence number given to a report
//	spool/       reports not yet accepted by the server
//	files/       the last seen content of watched files
type stateDir string

// identity is agent.json.
type identity struct {
	Server  string `json:"server"`
	AgentID int64  `json:"agent_id"`
}

func (d stateDir) path(name string) string { return filepath.Join(string(d), name) }

// credential returns the stored credential, "" when the agent has not
// enrolled yet.
func (d stateDir) credential() (string, error) {
	b, err := os.ReadFile(d.path("credential"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("agent: read credential: %w", err)
	}
	c := strings.TrimSpace(string(b))
	if !strings.HasPrefix(c, "odagt_") || strings.ContainsAny(c, " \t\r\n") {
		return "", fmt.Errorf("agent: %s does not hold an opsdeck agent credential", d.path("credential"))
	}
	return c, nil
}

// saveEnrollment stores the credential (0600) and agent.json.
func (d stateDir) saveEnrollment(server string, er enrollResponse) error {
	if err := writeFileAtomic(d.path("credential"), []byte(er.Credential+"\n"), 0o600); err != nil {
		return fmt.Errorf("agent: save credential: %w", err)
	}
	b, _ := json.MarshalIndent(identity{Server: server, AgentID: er.AgentID}, "", "  ")
	if err := writeFileAtomic(d.path("agent.json"), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("agent: save agent.json: %w", err)
	}
	return nil
}

func (d stateDir) identity() (identity, error) {
	var id identity
	b, err := os.ReadFile(d.path("agent.json"))
	if err != nil {
		return id, err
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, fmt.Errorf("agent: %s: %w", d.path("agent.json"), err)
	}
	return id, nil
}

// lastSeq reads the last sequence number handed out (0 when none).
func (d stateDir) lastSeq() (uint64, error) {
	b, err := os.ReadFile(d.path("seq"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("agent: read seq: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("agent: %s is corrupt: %w", d.path("seq"), err)
	}
	return n, nil
}

func (d stateDir) saveSeq(n uint64) error {
	return writeFileAtomic(d.path("seq"), []byte(strconv.FormatUint(n, 10)+"\n"), 0o600)
}

// lockState takes an exclusive lock on <state>/lock so two agents never
// share a spool; the lock goes with the process, even on a crash.
func lockState(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("agent: lock state folder: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("agent: another agent is using %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
