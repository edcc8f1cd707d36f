package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// User is a person who signs in to opsdeck.
type User struct {
	ID                 int64      `json:"id"`
	Username           string     `json:"username"`
	Name               string     `json:"name"`
	Email              string     `json:"email"`
	Role               Role       `json:"role"`
	Disabled           bool       `json:"disabled"`
	MustChangePassword bool       `json:"must_change_password"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	LastLoginAt        *time.Time `json:"last_login_at,omitempty"`
	passwordHash       string
}

// NewUser is the input for CreateUser.
type NewUser struct {
	Username           string `json:"username"`
	Name               string `json:"name"`
	Email              string `json:"email"`
	Role               Role   `json:"role"`
	Password           string `json:"password"`
	MustChangePassword bool   `json:"must_change_password"`
}

// UserUpdate changes the fields that are set.
type UserUpdate struct {
	Name     *string `json:"name"`
	Email    *string `json:"email"`
	Role     *Role   `json:"role"`
	Disabled *bool   `json:"disabled"`
}

// ErrLastAdmin refuses a change that would leave no enabled admin.
var ErrLastAdmin = errors.New("auth: this would leave no enabled admin")

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidUsername checks a username: 1–64 of a-z 0-9 . _ - starting with a letter or digit.
func ValidUsername(field, s string) error {
	if s == "" {
		return valid.Errorf(field, "is required")
	}
	if !usernameRE.MatchString(s) {
		return valid.Errorf(field, "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
	}
	return nil
}

// ValidPassword checks a new password's length.
func ValidPassword(field, s string) error {
	n := len([]rune(s))
	switch {
	case n < MinPasswordLen:
		return valid.Errorf(field, "must be at least %d characters", MinPasswordLen)
	case len(s) > MaxPasswordLen:
		return valid.Errorf(field, "must be at most %d bytes", MaxPasswordLen)
	}
	return nil
}

func validEmail(field, s string) error {
	if s == "" {
		return nil
	}
	if err := valid.Text(field, s, false, 254, false); err != nil {
		return err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return valid.Errorf(field, "is not an email address")
	}
	return nil
}

// CreateUser adds a user and audits it.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (User, error) {
	if err := ValidUsername("username", in.Username); err != nil {
		return User{}, err
	}
	if err := valid.Text("name", in.Name, false, 200, false); err != nil {
		return User{}, err
	}
	if err := validEmail("email", in.Email); err != nil {
		return User{}, err
	}
	if _, err := ParseRole("role", string(in.Role)); err != nil {
		return User{}, err
	}
	if err := s.CheckNewPassword("password", in.Username, in.Password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	u := User{Username: in.Username, Name: in.Name, Email: in.Email, Role: in.Role,
		MustChangePassword: in.MustChangePassword, CreatedAt: now, UpdatedAt: now, passwordHash: hash}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (username, name, email, role, password_hash, must_change_password, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`,
			u.Username, u.Name, u.Email, string(u.Role), hash, u.MustChangePassword, now).Scan(&u.ID)
		if err != nil {
			err = store.MapError(err)
			if errors.Is(err, store.ErrConflict) {
				return &valid.Error{Field: "username", Msg: "is already taken"}
			}
			return fmt.Errorf("auth: create user: %w", err)
		}
		return Audit(ctx, tx, "user.create", "user", fmt.Sprint(u.ID), fmt.Sprintf("username=%s role=%s", u.Username, u.Role))
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

const userCols = `id, username, name, email, role, password_hash, disabled, must_change_password, created_at, updated_at, last_login_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var role string
	var last sql.NullTime
	if err := row.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &role, &u.passwordHash, &u.Disabled, &u.MustChangePassword, &u.CreatedAt, &u.UpdatedAt, &last); err != nil {
		return User{}, store.MapError(err)
	}
	u.Role = Role(role)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if last.Valid {
		t := last.Time.UTC()
		u.LastLoginAt = &t
	}
	return u, nil
}

// GetUser returns the user with id, or an error wrapping store.ErrNotFound.
func (s *Service) GetUser(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.db.R.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return User{}, fmt.Errorf("auth: user %d: %w", id, err)
	}
	return u, nil
}

// GetUserByName returns the user called username.
// A name no user can have is not looked up: it could not match, and
// PostgreSQL refuses text that is not UTF-8 or holds NUL with an error of
// its own rather than no rows.
func (s *Service) GetUserByName(ctx context.Context, username string) (User, error) {
	if !usernameRE.MatchString(username) {
		return User{}, fmt.Errorf("auth: user %q: %w", username, store.ErrNotFound)
	}
	u, err := scanUser(s.db.R.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
	if err != nil {
		return User{}, fmt.Errorf("auth: user %q: %w", username, err)
	}
	return u, nil
}

// ListUsers returns every user ordered by username. Installations have
// hundreds of users, not millions, so the list is not paged.
func (s *Service) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("auth: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers returns how many users exist.
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("auth: count users: %w", err)
	}
	return n, nil
}

// UpdateUser changes a user's profile, role or disabled flag. Disabling a
// user or changing the role ends their sessions; the last enabled admin
// cannot be demoted or disabled.
func (s *Service) UpdateUser(ctx context.Context, id int64, up UserUpdate) (User, error) {
	if up.Name != nil {
		if err := valid.Text("name", *up.Name, false, 200, false); err != nil {
			return User{}, err
		}
	}
	if up.Email != nil {
		if err := validEmail("email", *up.Email); err != nil {
			return User{}, err
		}
	}
	if up.Role != nil {
		if _, err := ParseRole("role", string(*up.Role)); err != nil {
			return User{}, err
		}
	}
	var out User
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if up.Role != nil || up.Disabled != nil {
			if err := s.lockAdmins(ctx, tx); err != nil {
				return err
			}
		}
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`+s.forUpdate(), id))
		if err != nil {
			return fmt.Errorf("auth: user %d: %w", id, err)
		}
		old := u
		if up.Name != nil {
			u.Name = *up.Name
		}
		if up.Email != nil {
			u.Email = *up.Email
		}
		if up.Role != nil {
			u.Role = *up.Role
		}
		if up.Disabled != nil {
			u.Disabled = *up.Disabled
		}
		wasAdmin := old.Role == RoleAdmin && !old.Disabled
		isAdmin := u.Role == RoleAdmin && !u.Disabled
		if wasAdmin && !isAdmin {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> $1`, id).Scan(&n); err != nil {
				return fmt.Errorf("auth: count admins: %w", err)
			}
			if n == 0 {
				return ErrLastAdmin
			}
		}
		u.UpdatedAt = s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = $1, email = $2, role = $3, disabled = $4, updated_at = $5 WHERE id = $6`,
			u.Name, u.Email, string(u.Role), u.Disabled, u.UpdatedAt, id); err != nil {
			return fmt.Errorf("auth: update user: %w", store.MapError(err))
		}
		if u.Disabled || u.Role != old.Role {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
				return fmt.Errorf("auth: end sessions: %w", err)
			}
		}
		if err := Audit(ctx, tx, "user.update", "user", fmt.Sprint(id), describeUserChange(old, u)); err != nil {
			return err
		}
		out = u
		return nil
	})
	if err != nil {
		return User{}, err
	}
	// Tokens owned by the user carry its role limits; drop cached copies now.
	s.tokens.clear()
	return out, nil
}

// forUpdate locks the rows a PostgreSQL SELECT reads until the transaction
// ends, so a read-modify-write cannot lose a concurrent change. SQLite has one
// writer and IMMEDIATE transactions, so its transactions are already serial.
func (s *Service) forUpdate() string {
	if s.db.Dialect == store.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// lockAdmins locks every enabled admin's row, in id order so that two
// callers cannot deadlock. Without it, two transactions on PostgreSQL that
// each demote a different one of two admins both count the other as still
// enabled and both commit, leaving no admin (write skew).
func (s *Service) lockAdmins(ctx context.Context, tx *sql.Tx) error {
	if s.db.Dialect != store.Postgres {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE`)
	if err != nil {
		return fmt.Errorf("auth: lock admins: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("auth: lock admins: %w", err)
	}
	return nil
}

func describeUserChange(a, b User) string {
	var d string
	add := func(field, from, to string) {
		if from != to {
			if d != "" {
				d += " "
			}
			d += fmt.Sprintf("%s: %q -> %q", field, from, to)
		}
	}
	add("name", a.Name, b.Name)
	add("email", a.Email, b.Email)
	add("role", string(a.Role), string(b.Role))
	add("disabled", fmt.Sprint(a.Disabled), fmt.Sprint(b.Disabled))
	return d
}

// SetPassword sets a user's password (by an admin, or by the user after the
// old one was checked). Every session of the user ends except keepSession
// (the raw session token of the caller, or "").
func (s *Service) SetPassword(ctx context.Context, id int64, password string, mustChange bool, keepSession string) error {
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return err
	}
	if err := s.CheckNewPassword("password", u.Username, password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, must_change_password = $2, updated_at = $3 WHERE id = $4`,
			hash, mustChange, s.now().UTC(), id)
		if err != nil {
			return fmt.Errorf("auth: set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("auth: user %d: %w", id, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2`, id, hashSecret(keepSession)); err != nil {
			return fmt.Errorf("auth: end sessions: %w", err)
		}
		return Audit(ctx, tx, "user.password", "user", fmt.Sprint(id), "")
	})
}

// ErrWrongPassword means the current password given to ChangeOwnPassword
// was wrong.
var ErrWrongPassword = &valid.Error{Field: "current_password", Msg: "is not your current password"}

// ChangeOwnPassword checks the user's current password, then sets the new one.
// Wrong current passwords count with the login limiter against the user, so
// a stolen session cannot be used to guess the password either; while the
// user is limited the error is a *valid.Error for current_password that also
// wraps a *RateLimitedError.
func (s *Service) ChangeOwnPassword(ctx context.Context, id int64, current, next, keepSession string) error {
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return err
	}
	addr, now := ActorFrom(ctx).Addr, s.now()
	if wait := s.limiter.attempt(u.Username, addr, now); wait > 0 {
		return fmt.Errorf("%w: %w", valid.Errorf("current_password", "too many wrong attempts; try again in %s", wait.Round(time.Second)),
			&RateLimitedError{RetryAfter: wait})
	}
	if ok, err := CheckPassword(u.passwordHash, current); err != nil || !ok {
		return ErrWrongPassword
	}
	s.limiter.succeed(u.Username, addr, now)
	if current == next {
		return valid.Errorf("new_password", "must differ from the current password")
	}
	if err := s.CheckNewPassword("new_password", u.Username, next); err != nil {
		return err
	}
	return s.SetPassword(ctx, id, next, false, keepSession)
}
