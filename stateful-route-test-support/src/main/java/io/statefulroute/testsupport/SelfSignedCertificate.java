package io.statefulroute.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A self-signed RSA certificate for {@code 127.0.0.1} and {@code localhost}, made with the JDK's own
 * {@code keytool} (so no OpenSSL or extra library is needed) and written as PEM files that both
 * Redis ({@code --tls-cert-file}, {@code --tls-key-file}, {@code --tls-ca-cert-file}) and Spring
 * Boot SSL bundles ({@code spring.ssl.bundle.pem.*}) read. The certificate is its own CA: trust
 * {@link #certificateFile()} to trust the server. Valid for two days.
 */
public final class SelfSignedCertificate {

    private static final String PASSWORD = "changeit";

    private final Path certificateFile;

    private final Path privateKeyFile;

    private SelfSignedCertificate(Path certificateFile, Path privateKeyFile) {
        this.certificateFile = certificateFile;
        this.privateKeyFile = privateKeyFile;
    }

    /**
     * Generates a new key pair and certificate into a new temp directory.
     *
     * @throws IllegalStateException if keytool fails
     */
    public static SelfSignedCertificate create() {
        try {
            Path dir = Files.createTempDirectory("redis-tls-");
            dir.toFile().deleteOnExit();
            Path keyStore = dir.resolve("server.p12");
            keytool("-genkeypair", "-alias", "redis", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                    "-dname", "CN=localhost", "-ext", "san=ip:127.0.0.1,dns:localhost", "-ext", "bc:c",
                    "-storetype", "PKCS12", "-keystore", keyStore.toString(), "-storepass", PASSWORD,
                    "-keypass", PASSWORD);
            KeyStore store = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keyStore)) {
                store.load(in, PASSWORD.toCharArray());
            }
            PrivateKey key = (PrivateKey) store.getKey("redis", PASSWORD.toCharArray());
            Certificate certificate = store.getCertificate("redis");
            Path certificateFile = dir.resolve("server.crt");
            Path privateKeyFile = dir.resolve("server.key");
            Files.writeString(certificateFile, pem("CERTIFICATE", certificate.getEncoded()), StandardCharsets.US_ASCII);
            Files.writeString(privateKeyFile, pem("PRIVATE KEY", key.getEncoded()), StandardCharsets.US_ASCII);
            for (Path file : List.of(keyStore, certificateFile, privateKeyFile)) {
                file.toFile().deleteOnExit();
            }
            return new SelfSignedCertificate(certificateFile, privateKeyFile);
        }
        catch (IOException ex) {
            throw new UncheckedIOException("Cannot write the certificate files", ex);
        }
        catch (GeneralSecurityException ex) {
            throw new IllegalStateException("Cannot read the key store keytool wrote", ex);
        }
    }

    /** The certificate, PEM; also the CA certificate that clients trust. */
    public Path certificateFile() {
        return this.certificateFile;
    }

    /** The unencrypted PKCS#8 private key, PEM. */
    public Path privateKeyFile() {
        return this.privateKeyFile;
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] { '\n' }).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static void keytool(String... args) throws IOException {
        Path keytool = Paths.get(System.getProperty("java.home"), "bin", "keytool");
        List<String> command = new java.util.ArrayList<>(List.of(keytool.toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IllegalStateException("keytool failed: " + output);
            }
        }
        catch (InterruptedException ex) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while running keytool", ex);
        }
    }
}
