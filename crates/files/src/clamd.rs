//! clamd's INSTREAM command over TCP: the file is sent in chunks, clamd answers `stream: OK` or
//! `stream: <name> FOUND`. Configured with `[files] clamd = "127.0.0.1:3310"`; without it, no scan.

use crate::FileError;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Scans the file at `path` with the clamd at `address`.
pub async fn scan(address: &str, path: &Path) -> Result<(), FileError> {
    let unavailable = |e: std::io::Error| FileError::ScannerUnavailable(e.to_string());
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.map_err(unavailable)?;
        stream.write_all(b"zINSTREAM\0").await.map_err(unavailable)?;
        let mut file = tokio::fs::File::open(path).await?;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            let len = u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
            stream.write_all(&len).await.map_err(unavailable)?;
            stream.write_all(&buffer[..n]).await.map_err(unavailable)?;
        }
        stream.write_all(&[0, 0, 0, 0]).await.map_err(unavailable)?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.map_err(unavailable)?;
        verdict(&String::from_utf8_lossy(&answer))
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .map_err(|_| FileError::ScannerUnavailable("clamd did not answer in 60 s".into()))?
}

fn verdict(answer: &str) -> Result<(), FileError> {
    let answer = answer.trim_end_matches(['\0', '\n']).trim();
    if answer.ends_with("OK") {
        Ok(())
    } else if let Some(found) = answer.strip_suffix("FOUND") {
        Err(FileError::Infected(found.trim_start_matches("stream:").trim().to_owned()))
    } else {
        Err(FileError::ScannerUnavailable(answer.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A stand-in clamd that reads the stream and finds the EICAR marker.
    async fn fake_clamd() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut command = [0u8; 10];
                    socket.read_exact(&mut command).await.unwrap();
                    let mut body = Vec::new();
                    loop {
                        let mut len = [0u8; 4];
                        socket.read_exact(&mut len).await.unwrap();
                        let len = u32::from_be_bytes(len) as usize;
                        if len == 0 {
                            break;
                        }
                        let mut chunk = vec![0; len];
                        socket.read_exact(&mut chunk).await.unwrap();
                        body.extend(chunk);
                    }
                    let found = body.windows(5).any(|w| w == b"EICAR");
                    let answer: &[u8] = if found { b"stream: Eicar-Signature FOUND\0" } else { b"stream: OK\0" };
                    socket.write_all(answer).await.unwrap();
                });
            }
        });
        address
    }

    #[tokio::test]
    async fn clean_and_infected_files() {
        let address = fake_clamd().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"%PDF-1.4 fine").unwrap();
        scan(&address, &path).await.unwrap();
        std::fs::write(&path, b"%PDF-1.4 EICAR-STANDARD-ANTIVIRUS-TEST-FILE").unwrap();
        let e = scan(&address, &path).await.unwrap_err();
        assert_eq!(e.code(), "file_infected");
        assert!(e.to_string().contains("Eicar-Signature"), "{e}");
        let e = scan("127.0.0.1:1", &path).await.unwrap_err();
        assert_eq!(e.code(), "scanner_unavailable");
    }
}
