package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// File modes. Certificates are public; private keys are readable by the
// node's user only.
const (
	certMode fs.FileMode = 0o644
	keyMode  fs.FileMode = 0o600
)

type fileSpec struct {
	path string
	data []byte
	mode fs.FileMode
}

// writeNew writes all files or none. It refuses to replace any existing file
// (an overwritten CA key would orphan every certificate it ever signed), and
// removes what it wrote if a later file fails.
func writeNew(files ...fileSpec) error {
	for _, f := range files {
		if _, err := os.Lstat(f.path); err == nil {
			return fmt.Errorf("%s already exists; refusing to overwrite it: %w", f.path, fs.ErrExist)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", f.path, err)
		}
	}
	var written []string
	for _, f := range files {
		if err := writeExclusive(f.path, f.data, f.mode); err != nil {
			for _, p := range written {
				_ = os.Remove(p)
			}
			return err
		}
		written = append(written, f.path)
	}
	return nil
}

// writeExclusive creates path with O_EXCL, so that a file appearing between
// the check in writeNew and now is still not overwritten, and sets mode
// explicitly because the umask may have narrowed or (for 0644) kept it.
func writeExclusive(path string, data []byte, mode fs.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite it: %w", path, err)
		}
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// readFile reads path, describing it as what ("ca file", "key file", ...)
// in the error so that the operator knows which flag or setting to fix.
func readFile(what, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s %q does not exist: %w", what, path, err)
		}
		return nil, fmt.Errorf("read %s %q: %w", what, path, err)
	}
	return data, nil
}

// mkdir creates dir for key material if it is missing; an existing dir keeps
// its mode.
func mkdir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	return nil
}
