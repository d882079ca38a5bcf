//! Product photos for the simulated markets: small synthetic pictures,
//! re-encoded per upload as real re-uploads are (another size, brightness,
//! contrast, PNG or JPEG at some quality), embedded in listing pages as
//! `data:image/...;base64,` URIs the way White House embeds its thumbnails.
//!
//! The truth hash is computed from the encoded bytes with the same
//! perceptual hash extraction uses (`image_hasher` gradient hash, 8×8); the
//! sim's extraction tests check that extraction recovers it. The photo
//! linking signal is trained and measured on these photos, so the noise
//! here (re-encoding, new photos, stock photos, copied photos) is what its
//! weight and error rates reflect.

use base64::Engine as _;
use rand::{Rng, SeedableRng as _};
use rand_chacha::ChaCha20Rng;

/// Amplitude range of a picture's own waves over its family's: how far
/// pictures of one family are apart.
const FAMILY_SPREAD: std::ops::Range<f32> = 8.0..30.0;

/// One embedded photo: the URI the page shows and its perceptual hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Photo {
    pub data_uri: String,
    /// dHash, 16 lower-case hex digits.
    pub hash: String,
}

/// How one upload re-encodes a picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Encoding {
    /// Width in pixels (height is 3/4 of it).
    pub width: u32,
    /// Added to every pixel.
    pub brightness: i32,
    /// Contrast factor around mid-grey.
    pub contrast: f32,
    /// JPEG at this quality, or PNG when `None`.
    pub jpeg_quality: Option<u8>,
}

impl Encoding {
    /// The encoding of one upload, drawn from `rng`.
    pub fn draw(rng: &mut ChaCha20Rng) -> Encoding {
        Encoding {
            width: rng.random_range(40..=64),
            brightness: rng.random_range(-12..=12),
            contrast: rng.random_range(0.9..=1.1),
            jpeg_quality: rng.random_bool(0.6).then(|| rng.random_range(60..=95)),
        }
    }
}

/// The grey level of picture `picture` at `(u, v)` in `[0, 1)²`: a sum of a
/// few low-frequency waves drawn from the picture's seed, so a picture has
/// broad shapes whose gradients survive resizing and re-encoding, and two
/// pictures are unrelated.
fn shade(waves: &[(f32, f32, f32, f32)], u: f32, v: f32) -> f32 {
    let tau = std::f32::consts::TAU;
    128.0 + waves.iter().map(|&(fx, fy, phase, amp)| amp * (tau * (fx * u + fy * v) + phase).cos()).sum::<f32>()
}

/// `n` waves of amplitude in `amp` drawn from `seed`.
fn waves(seed: u64, n: usize, amp: std::ops::Range<f32>) -> Vec<(f32, f32, f32, f32)> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            (
                rng.random_range(0.3..2.5),
                rng.random_range(-2.0..2.0),
                rng.random_range(0.0..std::f32::consts::TAU),
                rng.random_range(amp.clone()),
            )
        })
        .collect()
}

/// A picture: the seed of its own content and of its family's. Pictures of
/// one family (one sub-category: white powder on a dark cloth, buds on a
/// scale) share their broad shapes, so their hashes are nearer than those
/// of unrelated pictures, as real product photos of one kind are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Picture {
    pub family: u64,
    pub own: u64,
}

/// Picture `picture` uploaded with `enc`.
pub(crate) fn render(picture: Picture, enc: &Encoding) -> Photo {
    let mut waves = waves(picture.family, 3, 15.0..40.0);
    waves.extend(self::waves(picture.own, 3, FAMILY_SPREAD));
    let (w, h) = (enc.width.max(8), (enc.width * 3 / 4).max(8));
    let img = image::GrayImage::from_fn(w, h, |x, y| {
        let g = shade(&waves, x as f32 / w as f32, y as f32 / h as f32);
        let g = (g - 128.0) * enc.contrast + 128.0 + enc.brightness as f32;
        image::Luma([g.clamp(0.0, 255.0) as u8])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mime = match enc.jpeg_quality {
        Some(q) => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q);
            // Encoding an in-memory grey image into a Vec cannot fail.
            img.write_with_encoder(encoder).expect("jpeg encoding into memory");
            "jpeg"
        }
        None => {
            img.write_to(&mut bytes, image::ImageFormat::Png).expect("png encoding into memory");
            "png"
        }
    };
    let bytes = bytes.into_inner();
    Photo {
        data_uri: format!("data:image/{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(&bytes)),
        hash: hash(&bytes),
    }
}

/// The perceptual hash extraction computes (`extract::photo::image_hash`):
/// decoded from the encoded bytes, so JPEG loss is in it.
fn hash(bytes: &[u8]) -> String {
    let img = image::load_from_memory(bytes).expect("decoding an image the sim encoded");
    let hasher = image_hasher::HasherConfig::new()
        .hash_alg(image_hasher::HashAlg::Gradient)
        .hash_size(8, 8)
        .to_hasher();
    hasher.hash_image(&img).as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(a: &str, b: &str) -> u32 {
        (u64::from_str_radix(a, 16).unwrap() ^ u64::from_str_radix(b, 16).unwrap()).count_ones()
    }

    /// Re-uploads of one picture stay near; different pictures are far.
    /// These are the two facts the photo signal rests on, measured over
    /// many draws rather than assumed.
    #[test]
    fn reuploads_are_near_and_pictures_are_far() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let (mut same, mut diff) = (Vec::new(), Vec::new());
        let mut family = Vec::new();
        for p in 0..200u64 {
            let pic = |own| Picture { family: p % 7, own };
            let a = render(pic(p), &Encoding::draw(&mut rng));
            let b = render(pic(p), &Encoding::draw(&mut rng));
            let c = render(Picture { family: 100 + p, own: p + 10_000 }, &Encoding::draw(&mut rng));
            let f = render(pic(p + 20_000), &Encoding::draw(&mut rng));
            same.push(bits(&a.hash, &b.hash));
            diff.push(bits(&a.hash, &c.hash));
            family.push(bits(&a.hash, &f.hash));
        }
        same.sort_unstable();
        diff.sort_unstable();
        family.sort_unstable();
        eprintln!(
            "re-upload bits: median {} p90 {}; one family: p1 {} p10 {} median {}; unrelated: p1 {} median {}",
            same[100], same[180], family[2], family[20], family[100], diff[2], diff[100]
        );
        assert!(same[100] <= 2 && same[180] <= 6, "re-uploads: {same:?}");
        assert!(diff[2] > 8 && diff[100] >= 20, "different pictures: {diff:?}");
        // One family is nearer than unrelated pictures, yet apart.
        assert!(family[100] < diff[100] && family[20] > 4, "one family: {family:?}");
    }

    #[test]
    fn rendering_is_deterministic_and_decodable() {
        let enc = Encoding { width: 48, brightness: 0, contrast: 1.0, jpeg_quality: Some(80) };
        let p = Picture { family: 1, own: 7 };
        assert_eq!(render(p, &enc), render(p, &enc));
        assert!(render(p, &enc).data_uri.starts_with("data:image/jpeg;base64,"));
        assert_eq!(render(p, &enc).hash.len(), 16);
    }
}
