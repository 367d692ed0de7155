"""StableDiffusionBackbone operations."""
import torch


def test_batched_prompts_equal_one_at_a_time(backbone):
    prompts = ['a photo of a cat', 'dog', 'a red square and a blue triangle', '']
    backbone._prompt_cache.clear()
    batched = backbone.encode_prompts(prompts, batch_size=4)
    backbone._prompt_cache.clear()
    single = torch.cat([backbone.encode_prompts([p]) for p in prompts])
    assert batched.shape == (4, 77, 32)
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-6)
    odd = backbone.encode_prompts(prompts, batch_size=3)  # chunking does not change the result
    torch.testing.assert_close(odd, single, rtol=1e-5, atol=1e-6)


def test_encode_decode_shapes_and_scaling(backbone):
    images = torch.rand(2, 3, 64, 96) * 2 - 1
    latents = backbone.encode_images(images)
    assert latents.shape == (2, 4, 8, 12)
    raw = backbone.vae.encode(images).latent_dist.mean
    torch.testing.assert_close(latents, raw * 0.18215)
    assert backbone.decode_latents(latents).shape == (2, 3, 64, 96)


def test_add_noise_is_seeded_and_follows_schedule(backbone):
    x0 = torch.randn(1, 4, 8, 8)
    a = backbone.add_noise(x0, 281, torch.Generator().manual_seed(3))
    b = backbone.add_noise(x0, 281, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    abar = backbone.scheduler.alphas_cumprod[281]
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, abar.sqrt() * x0 + (1 - abar).sqrt() * eps)


def test_unet_forward_counts_evaluations(backbone):
    before = backbone.unet_evaluations
    text = backbone.encode_prompts([''])
    out = backbone.unet_forward(torch.randn(3, 4, 8, 8), 10, text)
    assert out.shape == (3, 4, 8, 8)
    assert backbone.unet_evaluations - before == 3
