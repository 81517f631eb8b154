package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.EvalBatches;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.export.Safetensors;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.train.Checkpoints;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * {@code export}: a pretrained checkpoint's encoder in timm's layout, loaded by real timm and PyTorch
 * (spark-job/src/test/python/timm_interop.py) with {@code load_state_dict(strict=True)}; timm's pooled features of
 * 64 bundled test images must equal evaluate's mean feature within 1e-4.
 *
 * <p>The Python side: {@code MIM_TIMM_PYTHON} (set by .ci/run, which installs Debian's torch 1.13 + torchvision and
 * timm + safetensors from the package mirror); when unset, ~/.cache/mim-peer/venv-timm (made by the PyTorch peer's
 * {@code setup.sh --timm}) is tried, and without either the interop test is skipped on this machine. With
 * MIM_TIMM_PYTHON set, a missing timm fails it.
 */
class ExportCommandTest {
    static final int IMAGES = 64;
    @TempDir
    static Path tmp;
    static Path run;

    @BeforeAll
    static void pretrain() {
        CliTest.Run r = CliTest.run("pretrain", "--engine", "jvm", "--set", "model.dim=32", "--set", "model.depth=2",
                "--set", "model.heads=2", "--set", "model.patch=7", "--set", "optim.batch=32", "--set", "optim.steps=12",
                "--set", "data.train-limit=512", "--set", "run.dir=" + tmp, "--set", "run.name=src",
                "--set", "eval.online-knn-every=0");
        assertThat(r.code()).as(r.err()).isZero();
        run = tmp.resolve("src");
    }

    static Path python() {
        String env = System.getenv("MIM_TIMM_PYTHON");
        if (env != null && !env.isBlank()) return Path.of(env);
        Path peer = Path.of(System.getProperty("user.home"), ".cache/mim-peer/venv-timm/bin/python");
        return Files.isExecutable(peer) ? peer : null;
    }

    @Test
    void timmLoadsTheExportStrictlyAndGivesEvaluatesFeatures() throws Exception {
        Path out = tmp.resolve("enc.safetensors");
        CliTest.Run r = CliTest.run("export", "--checkpoint", run.toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, Safetensors.Tensor> sd = Safetensors.read(out);
        // timm's names and torch's layouts: 4 + 12 per block + 2 tensors
        assertThat(sd).hasSize(4 + 12 * 2 + 2);
        assertThat(sd.get("patch_embed.proj.weight").shape()).containsExactly(32, 1, 7, 7);
        assertThat(sd.get("pos_embed").shape()).containsExactly(1, 17, 32);
        assertThat(sd.get("blocks.1.attn.qkv.weight").shape()).containsExactly(96, 32);
        assertThat(sd.get("blocks.1.mlp.fc1.weight").shape()).containsExactly(128, 32);
        assertThat(sd.get("norm.weight").shape()).containsExactly(32);
        JsonNode side = new ObjectMapper().readTree(tmp.resolve("enc.json").toFile());
        Encoders.Loaded ck = Encoders.open(run, null, Map.of());
        assertThat(side.get("source_sha256").asText()).isEqualTo(ck.sha256());
        assertThat(side.at("/timm_args/patch_size").asInt()).isEqualTo(7);
        assertThat(Safetensors.metadata(out)).containsEntry("source_sha256", ck.sha256());
        interop(run, out, 32);
    }

    /** Every ViT method's encoder exports the same way: SBAM (its patch projection embeds all patches), ROPIM, A2MIM, EMAE. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"sbam", "ropim", "a2mim", "emae"})
    void otherMethodsExportToTheSameFeatures(String method) throws Exception {
        CliTest.Run t = CliTest.run("pretrain", "--engine", "jvm", "--set", "method.name=" + method, "--set", "model.dim=32",
                "--set", "model.depth=1", "--set", "model.heads=2", "--set", "model.patch=7", "--set", "optim.batch=32",
                "--set", "optim.steps=4", "--set", "data.train-limit=256", "--set", "run.dir=" + tmp,
                "--set", "run.name=" + method, "--set", "eval.online-knn-every=0");
        assertThat(t.code()).as(t.err()).isZero();
        Path out = tmp.resolve(method + ".safetensors");
        CliTest.Run r = CliTest.run("export", "--checkpoint", tmp.resolve(method).toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        interop(tmp.resolve(method), out, 32);
    }

    /**
     * evaluate's mean feature of 64 bundled test images, the exact normalized input it came from (NCHW), and
     * timm's features of that input from the export: equal within 1e-4.
     */
    static void interop(Path runDir, Path out, int dim) throws Exception {
        Encoders.Loaded ck = Encoders.open(runDir, null, Map.of());
        ImageSet test = FashionMnist.load(FashionMnist.locate(""), "test");
        Batch b = EvalBatches.of(ck.cfg(), test, 0, IMAGES, 0);
        INDArray feats = ck.method().features(ck.graph(), b, FeatureSpec.MEAN);
        int s = b.height(), c = b.channels();
        float[] nchw = new float[b.pixels().length];
        for (int i = 0; i < IMAGES; i++)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++)
                    for (int ch = 0; ch < c; ch++)
                        nchw[((i * c + ch) * s + y) * s + x] = b.pixels()[((i * s + y) * s + x) * c + ch];
        Map<String, Safetensors.Tensor> probe = new LinkedHashMap<>();
        probe.put("x", new Safetensors.Tensor(new long[]{IMAGES, c, s, s}, nchw));
        probe.put("features", new Safetensors.Tensor(feats.shape(), feats.dup('c').data().asFloat()));
        if (ck.method() instanceof org.sparkmim.model.finetune.FinetuneMethod ft) {
            INDArray probs = ft.probabilities(ck.graph(), b);                    // [B, K]
            probe.put("probs", new Safetensors.Tensor(probs.shape(), probs.dup('c').data().asFloat()));
        }
        Path probeFile = out.resolveSibling(out.getFileName() + ".probe.safetensors");
        Safetensors.write(probeFile, probe, Map.of());

        Path py = python();
        assumeThat(py).as("a Python with torch and timm: set MIM_TIMM_PYTHON (.ci/run does) or run "
                + "peer-torch's setup.sh --timm").isNotNull();
        Path script = Path.of("src/test/python/timm_interop.py").toAbsolutePath();
        Process p = new ProcessBuilder(py.toString(), script.toString(), out.toString(), ExportCommand.sidecar(out).toString(),
                probeFile.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as("timm_interop.py:\n%s", output).isZero();
        String[] lines = output.strip().split("\n");
        System.err.println("timm_interop.py " + out.getFileName() + ": " + lines[lines.length - 1]);
        JsonNode res = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertThat(res.get("images").asInt()).isEqualTo(IMAGES);
        assertThat(res.get("dim").asInt()).isEqualTo(dim);
        assertThat(res.get("max_abs_diff").asDouble()).isLessThanOrEqualTo(1e-4);
        // the features are not trivially small: the match means something
        assertThat(res.get("feature_abs_max").asDouble()).isGreaterThan(0.1);
    }

    /** A fine-tuned model exports with its classifier as timm's head: timm's softmax(model(x)) is our prediction. */
    @Test
    void aFineTunedModelExportsWithItsClassifier() throws Exception {
        CliTest.Run f = CliTest.run("finetune", "--engine", "jvm", "--checkpoint", run.toString(), "--set", "optim.batch=32",
                "--set", "optim.steps=8", "--set", "data.train-limit=512", "--set", "run.dir=" + tmp, "--set", "run.name=ft");
        assertThat(f.code()).as(f.err()).isZero();
        Path out = tmp.resolve("ft.safetensors");
        CliTest.Run r = CliTest.run("export", "--checkpoint", tmp.resolve("ft").toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, Safetensors.Tensor> sd = Safetensors.read(out);
        assertThat(sd.get("head.weight").shape()).containsExactly(10, 32);
        assertThat(sd.get("head.bias").shape()).containsExactly(10);
        JsonNode side = new ObjectMapper().readTree(tmp.resolve("ft.json").toFile());
        assertThat(side.at("/timm_args/num_classes").asInt()).isEqualTo(10);
        assertThat(side.at("/timm_args/global_pool").asText()).isEqualTo("avg");
        interop(tmp.resolve("ft"), out, 32);
    }

    /**
     * --format dl4j: ComputationGraph.load restores the encoder alone (no decoder, no updater) and its pooled output
     * is evaluate's mean feature; SBAM's encoder (projection in embed_all) too.
     */
    @Test
    void theDl4jEncoderLoadsWithComputationGraphLoadAndGivesEvaluatesFeatures() throws Exception {
        for (String name : List.of("src", "sbam")) {
            Path runDir = tmp.resolve(name);
            if (!Files.isDirectory(runDir)) {
                CliTest.Run t = CliTest.run("pretrain", "--engine", "jvm", "--set", "method.name=sbam", "--set", "model.dim=32",
                        "--set", "model.depth=1", "--set", "model.heads=2", "--set", "model.patch=7", "--set", "optim.batch=32",
                        "--set", "optim.steps=4", "--set", "data.train-limit=256", "--set", "run.dir=" + tmp,
                        "--set", "run.name=sbam", "--set", "eval.online-knn-every=0");
                assertThat(t.code()).as(t.err()).isZero();
            }
            Path out = tmp.resolve(name + "-enc.zip");
            CliTest.Run r = CliTest.run("export", "--checkpoint", runDir.toString(), "--out", out.toString(), "--format", "dl4j");
            assertThat(r.code()).as(r.err()).isZero();
            org.deeplearning4j.nn.graph.ComputationGraph g = org.deeplearning4j.nn.graph.ComputationGraph.load(out.toFile(), false);
            assertThat(g.getVertex("dec_embed")).isNull();
            assertThat(g.getVertex("head")).isNull();
            Encoders.Loaded ck = Encoders.open(runDir, null, Map.of());
            ImageSet test = FashionMnist.load(FashionMnist.locate(""), "test");
            Batch b = EvalBatches.of(ck.cfg(), test, 0, IMAGES, 0);
            INDArray want = ck.method().features(ck.graph(), b, FeatureSpec.MEAN);
            int n = ck.cfg().model.tokens();
            INDArray ids = org.nd4j.linalg.factory.Nd4j.create(org.nd4j.linalg.api.buffer.DataType.FLOAT, IMAGES, n);
            for (int i = 0; i < IMAGES; i++) for (int t = 0; t < n; t++) ids.putScalar(i, t, t);
            INDArray patches = org.nd4j.linalg.factory.Nd4j.create(org.sparkmim.model.mae.MaeMethod.patchify(ck.cfg().model, b),
                    new long[]{IMAGES, (long) n * ck.cfg().model.patchDim()});
            INDArray[] o = g.output(patches, ids);
            assertThat(o[0].shape()).containsExactly(IMAGES, 1 + n, 32);
            assertThat(o[1].sub(want).amaxNumber().doubleValue()).as(name).isLessThan(1e-5);
            JsonNode side = new ObjectMapper().readTree(tmp.resolve(name + "-enc.json").toFile());
            assertThat(side.get("source_sha256").asText()).isEqualTo(ck.sha256());
        }
    }

    @Test
    void aWrongOutputNameOrFormatIsRefusedAndWritesNothing() {
        CliTest.Run r = CliTest.run("export", "--checkpoint", run.toString(), "--out", tmp.resolve("enc.bin").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("--out").contains("must end in .safetensors");
        assertThat(tmp.resolve("enc.bin")).doesNotExist();
        CliTest.Run f = CliTest.run("export", "--checkpoint", run.toString(), "--out", tmp.resolve("x.safetensors").toString(),
                "--format", "onnx");
        assertThat(f.code()).isNotZero();
        assertThat(f.err()).contains("--format onnx").contains("allowed timm, dl4j");
        assertThat(tmp.resolve("x.safetensors")).doesNotExist();
    }

    /**
     * A2MIM's ResNet in timm's ResNet: the project's small-image shape (3×3 stem, width 4, last stage at stride 1)
     * needs timm_adapt's module replacements; then timm loads the export strictly, batch-norm buffers included, and
     * its pooled features equal evaluate's. The same for the fine-tuned ResNet, whose classifier is timm's fc.
     */
    @Test
    void timmLoadsAResNetExportStrictlyAndGivesEvaluatesFeatures() throws Exception {
        CliTest.a2mimResNet(tmp, "rn", "optim.batch=32", "optim.steps=8", "data.train-limit=256");
        Path rn = tmp.resolve("rn"), out = tmp.resolve("rn.safetensors");
        CliTest.Run r = CliTest.run("export", "--checkpoint", rn.toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, Safetensors.Tensor> sd = Safetensors.read(out);
        // ResNet-18: stem conv + bn (5 tensors each bn), 8 blocks of 2 conv + bn, 3 downsamples; no fc
        assertThat(sd).hasSize(6 + 8 * 12 + 3 * 6);
        assertThat(sd.get("conv1.weight").shape()).containsExactly(4, 1, 3, 3);
        assertThat(sd.get("layer4.1.conv2.weight").shape()).containsExactly(32, 32, 3, 3);
        assertThat(sd.get("layer4.0.downsample.0.weight").shape()).containsExactly(32, 16, 1, 1);
        assertThat(sd.get("layer1.0.bn1.num_batches_tracked").int64()).containsExactly(8L);
        assertThat(sd).doesNotContainKey("fc.weight");
        // batch norm's running variance: DL4J's log10(std), exponentiated and squared
        var bn = Checkpoints.load(Encoders.resolve(rn)).getVertex("s2b0_a_bn").paramTable(false);
        float log10s = bn.get("log10stdev").getFloat(0);
        assertThat(sd.get("layer3.0.bn1.running_var").data()[0]).isCloseTo((float) Math.pow(100, log10s), within(1e-4f));
        JsonNode side = new ObjectMapper().readTree(tmp.resolve("rn.json").toFile());
        assertThat(side.get("timm_model").asText()).isEqualTo("resnet18");
        assertThat(side.get("usage").asText()).contains("exec('\\n'.join(timm_adapt), {'model': model");
        assertThat(side.get("timm_adapt").toString()).contains("model.maxpool = nn.Identity()")
                .contains("model.layer4[0] = timm.models.resnet.BasicBlock(16, 32, stride=1");
        interop(rn, out, 32);

        CliTest.Run ft = CliTest.run("finetune", "--engine", "jvm", "--checkpoint", rn.toString(), "--set", "optim.batch=32",
                "--set", "optim.epochs=1", "--set", "data.train-limit=256", "--set", "run.dir=" + tmp);
        assertThat(ft.code()).as(ft.err()).isZero();
        Path fout = tmp.resolve("rn-ft.safetensors");
        CliTest.Run e = CliTest.run("export", "--checkpoint", tmp.resolve("rn-finetune").toString(), "--out", fout.toString());
        assertThat(e.code()).as(e.err()).isZero();
        Map<String, Safetensors.Tensor> fsd = Safetensors.read(fout);
        assertThat(fsd.get("fc.weight").shape()).containsExactly(10, 32);
        assertThat(new ObjectMapper().readTree(tmp.resolve("rn-ft.json").toFile()).at("/timm_args/num_classes").asInt())
                .isEqualTo(10);
        interop(tmp.resolve("rn-finetune"), fout, 32);

        // --format dl4j: the trunk alone, image in, the pooled feature out
        Path zip = tmp.resolve("rn-enc.zip");
        CliTest.Run d = CliTest.run("export", "--checkpoint", rn.toString(), "--out", zip.toString(), "--format", "dl4j");
        assertThat(d.code()).as(d.err()).isZero();
        var g = org.deeplearning4j.nn.graph.ComputationGraph.load(zip.toFile(), false);
        assertThat(g.getVertex("head")).isNull();
        Encoders.Loaded ck = Encoders.open(rn, null, Map.of());
        Batch b = EvalBatches.of(ck.cfg(), FashionMnist.load(FashionMnist.locate(""), "test"), 0, IMAGES, 0);
        INDArray[] o = g.output(org.sparkmim.model.resnet.ResNet.image(ck.cfg().model, b));
        assertThat(o[0].shape()).containsExactly(IMAGES, 32, 7, 7);
        assertThat(o[1].sub(ck.method().features(ck.graph(), b, FeatureSpec.MEAN)).amaxNumber().doubleValue()).isLessThan(1e-5);
    }

    /** A bottleneck ResNet-50 with the 7×7 stride-2 stem and its max-pool: timm's Bottleneck and stem, adapted to width 8. */
    @Test
    void timmLoadsABottleneckResNetWithTheImagenetStem() throws Exception {
        CliTest.a2mimResNet(tmp, "r50", "model.resnet.depth=50", "model.resnet.width=8", "model.resnet.stem=imagenet",
                "model.resnet.strides=[1,1,2,1]", "model.patch=7", "optim.batch=32", "optim.steps=4", "data.train-limit=128");
        Path out = tmp.resolve("r50.safetensors");
        CliTest.Run r = CliTest.run("export", "--checkpoint", tmp.resolve("r50").toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, Safetensors.Tensor> sd = Safetensors.read(out);
        assertThat(sd.get("conv1.weight").shape()).containsExactly(8, 1, 7, 7);
        assertThat(sd.get("layer2.3.conv3.weight").shape()).containsExactly(64, 16, 1, 1);
        JsonNode side = new ObjectMapper().readTree(tmp.resolve("r50.json").toFile());
        assertThat(side.get("timm_model").asText()).isEqualTo("resnet50");
        assertThat(side.get("timm_adapt").toString()).doesNotContain("maxpool");
        interop(tmp.resolve("r50"), out, 256);
    }

    @Test
    void aResNetCheckpointIsRefusedWithItsBackboneNamed() {
        var resnet = org.sparkmim.model.config.MimConfig.load(Map.of("model.backbone", "resnet", "method.name", "a2mim")).model;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> org.sparkmim.model.export.TimmVit.stateDict(null, resnet))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("needs a ViT checkpoint").hasMessageContaining("model.backbone = resnet");
    }

    @Test
    void aMissingCheckpointIsNamed() {
        Path none = tmp.resolve("no-such-run");
        CliTest.Run r = CliTest.run("export", "--checkpoint", none.toString(), "--out", tmp.resolve("y.safetensors").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains(none.toString());
    }

    @Test
    void safetensorsRoundTripsThroughItsOwnReader() throws Exception {
        Path f = tmp.resolve("rt.safetensors");
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("a", new Safetensors.Tensor(new long[]{2, 3}, new float[]{1, 2, 3, 4, 5, -6.5f}));
        t.put("b.c", new Safetensors.Tensor(new long[]{1}, new float[]{Float.MIN_VALUE}));
        t.put("n", Safetensors.Tensor.int64(1L << 40));
        Safetensors.write(f, t, Map.of("k", "v"));
        var back = Safetensors.read(f);
        assertThat(back.keySet()).containsExactly("a", "b.c", "n");
        assertThat(back.get("n").shape()).isEmpty();
        assertThat(back.get("n").int64()).containsExactly(1L << 40);
        assertThat(back.get("a").data()).containsExactly(1, 2, 3, 4, 5, -6.5f);
        assertThat(back.get("b.c").data()).containsExactly(Float.MIN_VALUE);
        assertThat(Safetensors.metadata(f)).containsEntry("k", "v");
        // header: 8-byte little-endian length, padded to 8
        byte[] raw = Files.readAllBytes(f);
        long n = java.nio.ByteBuffer.wrap(raw, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(n % 8).isZero();
        assertThat(raw.length).isEqualTo(8 + n + 4 * 7 + 8);
        assertThat(List.of(tmp.toFile().list())).noneMatch(x -> x.endsWith(".tmp"));
    }
}
