//! Product photos embedded in a page as `data:image/...;base64,...` URIs
//! (White House listing rows carry their thumbnail that way): decoded and
//! reduced to a 64-bit perceptual hash (dHash, `image_hasher`'s gradient
//! hash on 8×8), kept on the listing as 16 hex digits. Near-identical photos
//! (re-encoded, resized, slightly recoloured) have hashes a few bits apart;
//! the photo itself stays in the evidence page.
//!
//! Images are hostile input: decoding is bounded (dimensions, allocation),
//! and a photo that does not decode is reported, never a panic.

use base64::Engine as _;

/// Largest width or height decoded.
pub const MAX_SIDE: u32 = 4096;
/// Largest allocation the decoder may make.
pub const MAX_ALLOC: u64 = 64 << 20;

/// Why a photo has no hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// Not a `data:image/...;base64,` URI (an external link: not in the page).
    #[error("not an inline base64 image")]
    NotInline,
    /// The base64 payload does not decode.
    #[error("base64: {0}")]
    Base64(String),
    /// The bytes are not an image we decode (or exceed the limits).
    #[error("image: {0}")]
    Image(String),
}

/// The dHash of an inline image URI, as 16 lower-case hex digits.
pub fn data_uri_hash(uri: &str) -> Result<String, PhotoError> {
    let rest = uri.trim().strip_prefix("data:image/").ok_or(PhotoError::NotInline)?;
    let (meta, payload) = rest.split_once(',').ok_or(PhotoError::NotInline)?;
    if !meta.split(';').any(|p| p.eq_ignore_ascii_case("base64")) {
        return Err(PhotoError::NotInline);
    }
    // Saved pages wrap long attributes; whitespace is not part of base64.
    let clean: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .map_err(|e| PhotoError::Base64(e.to_string()))?;
    image_hash(&bytes)
}

/// The dHash of image bytes (JPEG, PNG, GIF, WebP), as 16 hex digits.
pub fn image_hash(bytes: &[u8]) -> Result<String, PhotoError> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| PhotoError::Image(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| PhotoError::Image(e.to_string()))?;
    let hasher = image_hasher::HasherConfig::new()
        .hash_alg(image_hasher::HashAlg::Gradient)
        .hash_size(8, 8)
        .to_hasher();
    let hash = hasher.hash_image(&img);
    Ok(hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits that differ between two hashes; `None` when either is not 16 hex
    /// digits. (Linking compares hashes itself, as `u64`s.)
    fn distance(a: &str, b: &str) -> Option<u32> {
        let (x, y) = (u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?);
        (a.len() == 16 && b.len() == 16).then(|| (x ^ y).count_ones())
    }

    fn png(f: impl Fn(u32, u32) -> u8) -> Vec<u8> {
        let img = image::GrayImage::from_fn(64, 48, |x, y| image::Luma([f(x, y)]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).expect("encode");
        out.into_inner()
    }

    fn uri(bytes: &[u8]) -> String {
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    #[test]
    fn same_picture_same_hash_different_picture_far() {
        let a = png(|x, y| ((x * 4 + y * 2) % 256) as u8);
        let h = data_uri_hash(&uri(&a)).unwrap();
        assert_eq!(h.len(), 16);
        assert_eq!(image_hash(&a).unwrap(), h);
        // Brightened by 10: the gradients, and so the hash, barely move.
        let lighter = png(|x, y| ((x * 4 + y * 2) % 256).min(245) as u8 + 10);
        assert!(distance(&h, &image_hash(&lighter).unwrap()).unwrap() <= 4);
        // A different picture: far apart.
        let b = png(|x, y| if (x / 8 + y / 8) % 2 == 0 { 0 } else { 255 });
        assert!(distance(&h, &image_hash(&b).unwrap()).unwrap() > 10);
    }

    #[test]
    fn bad_photos_are_errors() {
        assert_eq!(data_uri_hash("img/photo.jpg"), Err(PhotoError::NotInline));
        assert_eq!(data_uri_hash("data:image/png,rawbytes"), Err(PhotoError::NotInline));
        assert!(matches!(data_uri_hash("data:image/png;base64,@@@"), Err(PhotoError::Base64(_))));
        assert!(matches!(data_uri_hash("data:image/png;base64,aGVsbG8="), Err(PhotoError::Image(_))));
        let mut truncated = png(|x, _| x as u8);
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(image_hash(&truncated), Err(PhotoError::Image(_))));
        assert_eq!(distance("00", "ff"), None);
    }
}
