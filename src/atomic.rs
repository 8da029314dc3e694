//! Files written for other programs to read (metrics for a collector, man pages), often as root
//! into a directory another user can write: a node_exporter textfile directory belongs to that
//! service's user.

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` so a reader sees the old file or the new one, never half of one, and
/// nothing another user planted is written through. The bytes go to a new file under a random
/// name in the same directory, created with O_CREAT|O_EXCL (which never follows a symlink and
/// never opens an existing file), synced, then renamed over `path`: a symlink at `path` is
/// replaced, not followed. The new file gets the usual mode (0666 less the umask), as
/// `File::create` would give it, so the collector can read it.
///
/// A target that exists and is neither a regular file nor a symlink (`/dev/null`, a fifo, a
/// directory) is refused: a rename would replace the device itself.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Ok(existing) = std::fs::symlink_metadata(path) {
        let kind = existing.file_type();
        if !kind.is_file() && !kind.is_symlink() {
            return Err(io::Error::other("not a regular file"));
        }
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    usual_mode(&mut builder);
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    // On failure the temporary file is removed when the error drops it.
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(unix)]
fn usual_mode(builder: &mut tempfile::Builder) {
    use std::os::unix::fs::PermissionsExt;
    builder.permissions(std::fs::Permissions::from_mode(0o666));
}

#[cfg(not(unix))]
fn usual_mode(_builder: &mut tempfile::Builder) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_planted_symlink_instead_of_writing_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.path().join("ports.prom");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write(&path, b"metrics\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "metrics\n");
    }

    #[test]
    fn leaves_no_temporary_file_and_keeps_the_usual_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.prom");
        write(&path, b"one\n").unwrap();
        write(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o044, 0o044, "readable by the collector: {mode:o}");
    }

    use std::os::unix::fs::FileTypeExt;

    #[test]
    fn a_device_or_a_directory_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let error = write(Path::new("/dev/null"), b"x").unwrap_err();
        assert_eq!(error.to_string(), "not a regular file");
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        assert!(write(dir.path(), b"x").is_err());
        assert!(dir.path().is_dir());
    }

    #[test]
    fn a_missing_directory_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("ports.prom");
        assert!(write(&path, b"x").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
