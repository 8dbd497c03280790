/* The decoder registry: one DECODER(family) line per family, in the order records are reported.
 * Adding a family: decoders/<family>.c defining `const mc_decoder mc_decoder_<family>`,
 * decoders/<family>.yar, and one line here. meson reads this list to embed the rules. */
DECODER(quasar)
DECODER(remcos)
DECODER(xworm)
DECODER(redline)
DECODER(asyncrat)
DECODER(dcrat)
DECODER(venomrat)
DECODER(lumma)
DECODER(vidar)
DECODER(rokrat)
