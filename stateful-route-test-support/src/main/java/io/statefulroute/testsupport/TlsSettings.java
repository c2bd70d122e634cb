package io.statefulroute.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS files of a server that listens on TLS only, and the sockets that trust its CA (for the
 * readiness PING and INFO, which must speak TLS too).
 */
record TlsSettings(Path certificateFile, Path privateKeyFile, Path caCertificateFile) {

    /** redis-server options: TLS on the server's port, no plain port, clients need no certificate. */
    List<String> serverOptions(int port) {
        return List.of("--port", "0", "--tls-port", String.valueOf(port), "--tls-cert-file", certificateFile.toString(),
                "--tls-key-file", privateKeyFile.toString(), "--tls-ca-cert-file", caCertificateFile.toString(),
                "--tls-auth-clients", "no");
    }

    SSLSocketFactory socketFactory() {
        try (InputStream in = Files.newInputStream(caCertificateFile)) {
            KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            int i = 0;
            for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trusted.setCertificateEntry("ca-" + i++, certificate);
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context.getSocketFactory();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + caCertificateFile, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Cannot trust " + caCertificateFile + ": " + e.getMessage(), e);
        }
    }
}
