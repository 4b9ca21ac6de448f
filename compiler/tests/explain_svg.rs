//! `vnumac explain --format svg` drawn by a real SVG renderer (librsvg's `rsvg-convert`):
//! the picture renders at its declared size, every label stays inside its box (a long guest
//! name, a node shared by many guests, wide characters), every guest drawn is in the legend,
//! and reserved CPUs and emulator threads are explained there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::xml::{Element, parse_xml};
use common::{Scratch, skip_or_fail, tool_version};
use std::path::Path;
use std::process::Command;

const RENDERER: &str = "rsvg-convert";

/// A host with reserved CPUs; a hand-pinned guest with emulator threads; a guest whose vCPUs
/// float over a node; an automatic guest with a 200-byte name; a guest with wide characters;
/// and a dozen small guests that share one node, so the node's guest list cannot fit.
fn input() -> String {
    let mut text = String::from(
        "host h {\n  node 0 cpus=0-15 memory=64GiB\n  node 1 cpus=16-31 memory=64GiB\n  node 2 cpus=32-63 memory=64GiB\n  \
         distance 0 1 21\n  reserve cpus=0-1\n}\n\
         guest pinned on=h {\n  memory 2GiB\n  vcpus 2\n  pin vcpus=0 cpus=2\n  pin vcpus=1 cpus=3\n  \
         emulator cpus=4\n}\n\
         guest floating on=h {\n  memory 2GiB\n  vcpus 2\n  pin vcpus=0-1 node=1\n}\n",
    );
    let long = format!("g{}", "x".repeat(199));
    text.push_str(&format!(
        "guest {long} on=h {{\n  memory 1GiB\n  vcpus 2\n  vnuma mode=node\n}}\n"
    ));
    text.push_str("guest \"宽字符的客户机名称宽字符的客户机名称宽字符的客户机名称\" on=h {\n  memory 1GiB\n  vcpus 1\n  vnuma mode=node\n}\n");
    for i in 0..12 {
        text.push_str(&format!(
            "guest small-guest-number-{i} on=h {{\n  memory 128MiB\n  vcpus 1\n  vnuma mode=node\n}}\n"
        ));
    }
    text
}

fn explain(dir: &Path, file: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vnumac"))
        .current_dir(dir)
        .args(["explain", file, "--format", "svg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

struct Drawing {
    width: u32,
    height: u32,
    /// Every `rect class='box'`: (x, y, width, height).
    boxes: Vec<(u32, u32, u32, u32)>,
    /// The text of every label, with its tooltip when the label was cut.
    labels: Vec<String>,
    /// Every part of an allocation's bar (`rect class='alloc'`): (x, width, fill, title).
    parts: Vec<(u32, u32, String, String)>,
}

fn read(svg: &str) -> Drawing {
    let root = parse_xml(svg).unwrap_or_else(|e| panic!("invalid SVG: {e}"));
    let num = |e: &Element, name: &str| e.attr(name).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    let mut d = Drawing {
        width: num(&root, "width"),
        height: num(&root, "height"),
        boxes: Vec::new(),
        labels: Vec::new(),
        parts: Vec::new(),
    };
    fn walk(e: &Element, d: &mut Drawing, num: &dyn Fn(&Element, &str) -> u32) {
        match e.name.as_str() {
            "rect" if e.attr("class") == Some("box") => {
                d.boxes
                    .push((num(e, "x"), num(e, "y"), num(e, "width"), num(e, "height")))
            }
            "rect" if e.attr("class") == Some("alloc") => d.parts.push((
                num(e, "x"),
                num(e, "width"),
                e.attr("fill").unwrap_or_default().to_owned(),
                e.children.first().map(|t| t.text.trim().to_owned()).unwrap_or_default(),
            )),
            "text" => {
                // A cut label: what is shown, then the whole text in its <title>.
                let mut text = e.text.trim().to_owned();
                for c in &e.children {
                    text.push('\n');
                    text.push_str(c.text.trim());
                }
                d.labels.push(text);
            }
            _ => {}
        }
        for c in &e.children {
            walk(c, d, num);
        }
    }
    walk(&root, &mut d, &num);
    d
}

/// Renders `svg` to RGBA pixels with rsvg-convert.
fn render(work: &Scratch, name: &str, svg: &str) -> (u32, u32, Vec<u8>) {
    let src = work.dir.join(format!("{name}.svg"));
    let png_path = work.dir.join(format!("{name}.png"));
    std::fs::write(&src, svg).unwrap();
    let out = Command::new(RENDERER)
        .arg("--background-color=white")
        .arg("-o")
        .arg(&png_path)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{RENDERER} refused the SVG: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png_path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    // One RGBA pixel per 4 bytes, whatever the PNG's colour type.
    let samples = info.color_type.samples();
    let pixels = buf
        .chunks(samples)
        .flat_map(|p| match samples {
            4 => [p[0], p[1], p[2], p[3]],
            3 => [p[0], p[1], p[2], 255],
            _ => [p[0], p[0], p[0], 255],
        })
        .collect();
    (info.width, info.height, pixels)
}

#[test]
fn explain_svg_renders_with_labels_inside_their_boxes() {
    if let Err(problem) = tool_version(RENDERER, Command::new(RENDERER)) {
        skip_or_fail(&format!("{problem} (Debian: librsvg2-bin)"));
        return;
    }
    let work = Scratch::new("svg").unwrap();
    std::fs::write(work.dir.join("shared.vnuma"), input()).unwrap();
    let svg = explain(&work.dir, "shared.vnuma");
    let drawing = read(&svg);

    // Every guest drawn is in the legend, with how its vCPUs are placed.
    let legend = |needle: &str| drawing.labels.iter().any(|l| l.contains(needle));
    assert!(legend("pinned (2 vCPUs: 2 pinned)"), "{:#?}", drawing.labels);
    assert!(legend("floating (2 vCPUs: 2 floating)"), "{:#?}", drawing.labels);
    assert!(legend(&format!("g{} (2 vCPUs: 2 pinned)", "x".repeat(199))));
    assert!(legend("宽字符的客户机名称"));
    for i in 0..12 {
        assert!(legend(&format!("small-guest-number-{i} (1 vCPU: pinned)")), "{i}");
    }
    // Reserved CPUs and emulator threads are explained, on the CPUs and in the legend.
    assert!(legend("reserved for the host") && legend("emulator threads"));
    // Automatic guests' emulator threads run on the host's reserved CPUs.
    assert!(
        svg.contains("<title>CPU 0: reserved for the host; emulator threads of gxx"),
        "{svg}"
    );
    assert!(
        svg.contains("<title>CPU 4: free; emulator threads of pinned</title>"),
        "{svg}"
    );
    assert!(svg.contains("<title>CPU 2: a vCPU of pinned</title>"));
    assert!(svg.contains("vCPUs of floating float here"));

    text_inside_boxes(&work, "full", &svg, &drawing, 5_000);
}

/// The renderer draws `svg` at its declared size, and every pixel of text lies in a box.
fn text_inside_boxes(work: &Scratch, name: &str, svg: &str, drawing: &Drawing, min_ink: usize) {
    // The renderer draws it at its declared size.
    let (w, h, full) = render(work, name, svg);
    assert_eq!((w, h), (drawing.width, drawing.height));
    // The same picture without its text: the pixels that differ are the text's ink.
    let hidden = svg
        .replacen(">", "><style>text { visibility: hidden }</style>", 2)
        .replacen("><style>text { visibility: hidden }</style>", ">", 1);
    assert!(hidden.contains("<style>"), "the style went after the root element");
    let (_, _, blank) = render(work, &format!("{name}-blank"), &hidden);
    let mut ink = 0usize;
    let mut outside = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 4) as usize;
            if full[i..i + 4] == blank[i..i + 4] {
                continue;
            }
            ink += 1;
            let inside = drawing
                .boxes
                .iter()
                .any(|&(bx, by, bw, bh)| x >= bx && x < bx + bw && y >= by && y < by + bh);
            if !inside && outside.len() < 10 {
                outside.push((x, y));
            }
        }
    }
    // Without fonts nothing would be drawn and every pixel would trivially be inside.
    assert!(
        ink > min_ink,
        "only {ink} pixels of text: are fonts installed (fonts-dejavu-core)?"
    );
    assert!(outside.is_empty(), "text drawn outside every box at {outside:?}");
}

/// The cache and memory-bandwidth allocations of `examples/cache-allocation.vnuma`: a bar for
/// L3 cache 0 (16MiB) under node 0's cores, db's 8MiB its first half and batch's 2MiB the
/// next eighth, each in its guest's colour; a bar per bandwidth limit, as long as its
/// percentage; none for cache 1, which no guest allocates.
#[test]
fn explain_svg_draws_cache_and_bandwidth_allocations() {
    if let Err(problem) = tool_version(RENDERER, Command::new(RENDERER)) {
        skip_or_fail(&format!("{problem} (Debian: librsvg2-bin)"));
        return;
    }
    let work = Scratch::new("svg-resctrl").unwrap();
    let example = common::workspace().join("examples/cache-allocation.vnuma");
    std::fs::copy(example, work.dir.join("rdt.vnuma")).unwrap();
    let svg = explain(&work.dir, "rdt.vnuma");
    let drawing = read(&svg);
    let labels = |needle: &str| drawing.labels.iter().any(|l| l.contains(needle));
    assert!(
        labels("L3 cache 0 (16MiB; CPUs 0-7): 10MiB taken, 6MiB left"),
        "{:#?}",
        drawing.labels
    );
    assert!(!labels("L3 cache 1"), "no guest allocates cache 1");
    assert!(labels("bar: a cache or bandwidth, by guest"));
    // The fill of the CPU a guest's vCPU 0 runs on: the guest's colour.
    let fill_of = |cpu: u32| {
        let at = svg.find(&format!("<title>CPU {cpu}: a vCPU of")).unwrap();
        let rect = &svg[svg[..at].rfind("<rect").unwrap()..at];
        let from = rect.find("fill='").unwrap() + 6;
        rect[from..from + 7].to_owned()
    };
    let (db, batch) = (fill_of(0), fill_of(4));
    assert_ne!(db, batch);
    let parts: Vec<(u32, String, &str)> = drawing
        .parts
        .iter()
        .map(|(_, w, fill, title)| (*w, fill.clone(), title.as_str()))
        .collect();
    assert_eq!(
        parts,
        vec![
            (80, db.clone(), "8MiB of L3 cache 0 for vCPUs 0-3 of db"),
            (20, batch.clone(), "2MiB of L3 cache 0 for vCPUs 0-1 of batch"),
            (96, db, "vCPUs 0-3 of db at most 60% of memory bandwidth node 0"),
            (32, batch, "vCPUs 0-1 of batch at most 20% of memory bandwidth node 0"),
        ]
    );
    // batch's part of the cache begins where db's ends.
    assert_eq!(drawing.parts[1].0, drawing.parts[0].0 + 80);
    text_inside_boxes(&work, "rdt", &svg, &drawing, 1_000);
}
