//! The demo's call recordings: whole objects keyed by customer id, for the `recordings`
//! objects store (`recordings/<customer id>/<file>`). Ana has one, Ben two, Cara none, and
//! every tenth filler customer one. The bytes are a tiny WAV header and silence.

use crate::subjects::{ANA_ID, BEN_ID, FILLER_FIRST_ID};

/// Ben's recordings (keys), erased with him.
pub const BEN_RECORDINGS: [&str; 2] = [
    "recordings/2/2026-09-14-call.wav",
    "recordings/2/2026-10-03-call.wav",
];

/// Ana's recording.
pub const ANA_RECORDING: &str = "recordings/1/2026-10-21-call.wav";

/// A minimal WAV file of `ms` milliseconds of 8 kHz 8-bit silence.
fn wav(ms: u32) -> Vec<u8> {
    let data_len = 8 * ms;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&8000u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.resize(44 + data_len as usize, 0x80);
    b
}

/// Every recording of the demo estate with `filler` filler customers: (key, bytes).
pub fn recordings(filler: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![(ANA_RECORDING.to_string(), wav(120))];
    for (i, k) in BEN_RECORDINGS.iter().enumerate() {
        out.push((k.to_string(), wav(80 + 40 * i as u32)));
    }
    debug_assert!(ANA_RECORDING.starts_with(&format!("recordings/{ANA_ID}/")));
    debug_assert!(BEN_RECORDINGS[0].starts_with(&format!("recordings/{BEN_ID}/")));
    for k in (0..filler).step_by(10) {
        let id = FILLER_FIRST_ID + k as i64;
        out.push((format!("recordings/{id}/2026-08-01-call.wav"), wav(50)));
    }
    out
}
