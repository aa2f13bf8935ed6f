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
