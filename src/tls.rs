//! The TLS set-up of the HTTP clients this crate builds: one rustls configuration per process,
//! whose platform roots are loaded on the first TLS handshake, not when a client is built.
//!
//! reqwest 0.13 (feature `rustls`) builds a `rustls-platform-verifier` verifier inside every
//! `reqwest::Client::build`, and on Linux that reads and parses the system's root store each
//! time (about 19 M instructions). A [`Client`](crate::Client) has two reqwest clients (the
//! money POSTs have their own), `opx::check` builds one per endpoint, and a loopback `http`
//! base URL never needs a root at all. Here every client built by this crate gets the same
//! preconfigured `rustls::ClientConfig` ([`reqwest_builder`]); its verifier loads the platform's
//! roots once per process, on the first certificate it has to verify. Verification itself is
//! the platform verifier's, unchanged.
//!
//! So a change of the system's root store (or of `SSL_CERT_FILE`) is seen by the next process,
//! not by clients built later in a process that already loaded it. A failed load is not kept:
//! the next handshake tries again.

/// A `reqwest::ClientBuilder` for the clients this crate builds: with the `rustls` feature, the
/// process's shared TLS configuration (see the module docs); without it, reqwest's default.
pub(crate) fn reqwest_builder() -> reqwest::ClientBuilder {
    let b = reqwest::Client::builder();
    #[cfg(feature = "rustls")]
    let b = b.tls_backend_preconfigured(shared::config());
    b
}

/// Loads the platform's roots now if this process has not yet and `url` is `https` (so that a
/// measured request does not include it); a no-op without the `rustls` feature.
#[cfg_attr(not(feature = "check"), allow(dead_code))]
pub(crate) fn preload_roots_for(url: &url::Url) {
    #[cfg(feature = "rustls")]
    if url.scheme() == "https" {
        // A failure is the handshake's to report (it tries again).
        let _ = shared::verifier().get();
    }
    #[cfg(not(feature = "rustls"))]
    let _ = url;
}

/// How many times this process loaded the platform's root certificates (test hook).
#[cfg(all(feature = "unstable-test-hooks", feature = "rustls"))]
pub(crate) fn root_loads() -> usize {
    shared::ROOT_LOADS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Without TLS there are no roots to load.
#[cfg(all(feature = "unstable-test-hooks", not(feature = "rustls")))]
pub(crate) fn root_loads() -> usize {
    0
}

#[cfg(feature = "rustls")]
mod shared {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, OnceLock};

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use rustls_platform_verifier::Verifier;

    /// Loads of the platform's roots in this process (one, unless a load failed).
    pub(super) static ROOT_LOADS: AtomicUsize = AtomicUsize::new(0);

    /// The process's configuration (a clone: its parts are shared `Arc`s), built on first use
    /// as reqwest builds its own: TLS 1.2 and 1.3, ALPN `h2` then `http/1.1`, SNI, no client
    /// certificate, [`verifier`].
    pub(super) fn config() -> rustls::ClientConfig {
        static CONFIG: OnceLock<rustls::ClientConfig> = OnceLock::new();
        CONFIG
            .get_or_init(|| {
                let verifier = verifier();
                let mut config =
                    rustls::ClientConfig::builder_with_provider(verifier.provider.clone())
                        .with_protocol_versions(rustls::ALL_VERSIONS)
                        .expect("aws-lc-rs and the process default support TLS 1.2 and 1.3")
                        .dangerous()
                        .with_custom_certificate_verifier(verifier.clone())
                        .with_no_client_auth();
                config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
                config
            })
            .clone()
    }

    /// The process's verifier (roots not loaded yet), with the crypto provider installed as the
    /// process default, else aws-lc-rs (as reqwest picks it).
    pub(super) fn verifier() -> &'static Arc<LazyPlatformVerifier> {
        static VERIFIER: OnceLock<Arc<LazyPlatformVerifier>> = OnceLock::new();
        VERIFIER.get_or_init(|| {
            let provider = CryptoProvider::get_default()
                .cloned()
                .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
            Arc::new(LazyPlatformVerifier {
                provider,
                loaded: OnceLock::new(),
            })
        })
    }

    /// The platform verifier, created (roots loaded) on the first certificate to verify.
    #[derive(Debug)]
    pub(super) struct LazyPlatformVerifier {
        provider: Arc<CryptoProvider>,
        loaded: OnceLock<Verifier>,
    }

    impl LazyPlatformVerifier {
        pub(super) fn get(&self) -> Result<&Verifier, rustls::Error> {
            if let Some(v) = self.loaded.get() {
                return Ok(v);
            }
            ROOT_LOADS.fetch_add(1, Ordering::Relaxed);
            let v = Verifier::new(self.provider.clone())?;
            // Two first handshakes at once may both load; one result is kept.
            Ok(self.loaded.get_or_init(|| v))
        }
    }

    impl ServerCertVerifier for LazyPlatformVerifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            self.get()?.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.get()?.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.get()?.verify_tls13_signature(message, cert, dss)
        }

        /// Asked for the ClientHello, before any certificate: what the platform verifier
        /// would answer (its WebPKI verifier's schemes are the provider's), without loading.
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The schemes offered before the roots are loaded are those the loaded verifier
        /// would offer, so the lazy load changes nothing on the wire.
        #[test]
        fn the_lazy_verifier_offers_the_platform_verifiers_schemes() {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let lazy = LazyPlatformVerifier {
                provider: provider.clone(),
                loaded: OnceLock::new(),
            };
            let schemes = lazy.supported_verify_schemes();
            assert!(
                lazy.loaded.get().is_none(),
                "asking for schemes loads nothing"
            );
            if let Ok(platform) = Verifier::new(provider) {
                assert_eq!(schemes, platform.supported_verify_schemes());
            }
            assert!(!schemes.is_empty());
        }

        #[test]
        fn the_shared_config_speaks_h2_and_http1() {
            let c = config();
            assert_eq!(c.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
            assert!(c.enable_sni);
        }
    }
}
