//! [`LocalFile`]: a local Parquet file read with positional reads (`pread`), so any number of
//! threads can read row groups of one file at once. (The parquet crate's reader for `File`
//! shares one file offset between clones, which races when threads seek concurrently.)

use bytes::Bytes;
use parquet::file::reader::{ChunkReader, Length};
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// A local file shared by readers on many threads.
#[derive(Debug, Clone)]
pub struct LocalFile {
    file: Arc<File>,
    len: u64,
}

impl LocalFile {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> std::io::Result<LocalFile> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(LocalFile {
            file: Arc::new(file),
            len,
        })
    }
}

/// A reader from a position of a [`LocalFile`], with its own offset.
#[derive(Debug)]
pub struct At {
    file: Arc<File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Length for LocalFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for LocalFile {
    type T = BufReader<At>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(BufReader::new(At {
            file: self.file.clone(),
            pos: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0; length];
        self.file.read_exact_at(&mut buf, start)?;
        Ok(Bytes::from(buf))
    }
}
