//! Compiles the one piece of C Shoal needs: INCRBYFLOAT's `long double` arithmetic (see src/num.rs).
fn main() {
    println!("cargo:rerun-if-changed=src/num_ld.c");
    cc::Build::new().file("src/num_ld.c").opt_level(2).compile("shoal_num_ld");
}
