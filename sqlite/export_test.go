package sqlite

import (
	"database/sql"
	"strconv"
)

// SetUserVersion sets the schema version of the file at path.
func SetUserVersion(path string, v int) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("PRAGMA user_version = " + strconv.Itoa(v))
	return err
}

// MigrateTo creates the file at path with only the first n migrations, as
// an older iamd left it.
func MigrateTo(path string, n int) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	names, err := migrationFiles()
	if err != nil {
		return err
	}
	for _, name := range names[:n] {
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := db.Exec(string(body)); err != nil {
			return err
		}
	}
	_, err = db.Exec("PRAGMA user_version = " + strconv.Itoa(n))
	return err
}
